"""infinicode's agent: model, prompts, scoring, feedback, orchestrator, fine-tuning and the CLI."""
