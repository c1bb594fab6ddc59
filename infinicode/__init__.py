"""The application layer: the `infinicode` command, its verbs, and the workflows that span suites, the model
and the sandbox. Nothing below (agent/, benchmarks/, sandbox/) imports it."""
