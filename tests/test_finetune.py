"""Fine-tuning: the SFT dataset from run folders, the contamination guard, QLoRA training on a tiny model (loss goes
down, every LoRA layer learns even after a generate, the model answers differently), checkpoints resume, and the
adapter loads into HFProvider and solves a task through the real sandbox."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

from agent.errors import UserError
from agent.finetune import ADAPTER_METADATA, LOSS_PLOT, TRAIN_DATA, TrainSettings, train_adapter
from agent.runfolder import CandidateRecord, RunFolder
from agent.scoring import normalize_code
from agent.sft_data import build_dataset, check_contamination, eval_split_of, format_target
from sandbox.results import RunResult

REPO = Path(__file__).resolve().parent.parent
ADD_SOLUTION = "def add(a: int, b: int) -> int:\n    return a + b\n"
# LoRA on every projection and on the output head: a tiny random model's head is too small to memorize without it.
TINY_TARGETS = "q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj,lm_head"


def write_run(root: Path, task_id: str, code: str | None, prompt: str = "PROMPT", solved: bool = True,
              messages: list[dict] | None = None) -> Path:
    """A run folder as agent.orchestrator writes it (the fields fine-tuning reads)."""
    folder = root / "tasks" / task_id.replace("/", "_")
    folder.mkdir(parents=True, exist_ok=True)
    run = {"task_id": task_id, "task_name": task_id, "status": "done", "solved": solved, "solution": code,
           "round0_messages": messages or [{"role": "user", "content": prompt}], "round0_prompt": prompt,
           "model": "tiny", "adapter": None, "settings": {}, "tokens": 0, "wall_s": 0.0, "rounds": []}
    (folder / "run.json").write_text(json.dumps(run), encoding="utf-8")
    return folder


# ---------------------------------------------------------------------------------------------------- dataset


def test_dataset_takes_solved_runs_with_their_round0_prompt(tmp_path):
    write_run(tmp_path / "bench-a", "Mbpp/601", "def f(x):\n    return x + 1\n", prompt="<user>task 601</user>")
    write_run(tmp_path / "bench-a", "Mbpp/602", "def g(x):\n    return x\n", solved=False)
    write_run(tmp_path / "deep" / "nested" / "bench-b", "Mbpp/603", "def h():\n    return 3\n", prompt="p603")

    ds = build_dataset([tmp_path / "bench-a", tmp_path / "deep"])

    assert ds.run_files == 3 and ds.unsolved == 1 and ds.duplicates == 0
    assert ds.task_ids == ["Mbpp/601", "Mbpp/603"]
    first = ds.examples[0]
    assert first.prompt == "<user>task 601</user>"
    assert first.completion == "```python\ndef f(x):\n    return x + 1\n```"
    assert first.completion == format_target(first.code)
    assert ds.eval_task_ids == []


def test_dataset_drops_duplicates_of_the_same_task_only(tmp_path):
    code = "def f(x):\n    return x + 1\n"
    same_reformatted = "def f(x):\n\n    # add one\n    return   x+1\n"
    write_run(tmp_path / "r1", "Mbpp/601", code)
    write_run(tmp_path / "r2", "Mbpp/601", same_reformatted)
    write_run(tmp_path / "r3", "Mbpp/601", "def f(x):\n    return 1 + x\n")  # another solution: kept
    write_run(tmp_path / "r4", "Mbpp/700", code)  # same code, other task: kept

    ds = build_dataset([tmp_path])

    assert normalize_code(code) == normalize_code(same_reformatted)
    assert len(ds.examples) == 3 and ds.duplicates == 1
    assert sorted(e.task_id for e in ds.examples) == ["Mbpp/601", "Mbpp/601", "Mbpp/700"]


def test_all_passing_adds_the_other_passing_candidates_of_a_solved_run(tmp_path):
    solution = "def f(x):\n    return x + 1\n"
    folder = write_run(tmp_path, "Mbpp/601", solution)
    failed, passed = (RunResult(status=s, passed=int(s == "passed"), total=1, tests=[]) for s in ("failed", "passed"))
    with RunFolder(folder).trajectory_writer() as trajectory:
        trajectory.write(CandidateRecord(0, 0, "def f(x):\n    return x - 1\n", result=failed))
        trajectory.write(CandidateRecord(0, 1, "def f(x):\n    return 1 + x\n", result=passed))
        trajectory.write(CandidateRecord(1, 0, solution, result=passed))

    assert [e.code for e in build_dataset([tmp_path]).examples] == [solution]
    wide = build_dataset([tmp_path], all_passing=True)
    assert sorted(e.code for e in wide.examples) == sorted([solution, "def f(x):\n    return 1 + x\n"])
    assert wide.duplicates == 1  # the accepted solution is also in the trajectory


def test_repairs_pair_each_passing_refinement_with_the_prompt_it_answered(tmp_path):
    solution = "def f(x):\n    return x + 1\n"
    folder = write_run(tmp_path, "Mbpp/601", solution)
    failed, passed = (RunResult(status=s, passed=int(s == "passed"), total=1, tests=[]) for s in ("failed", "passed"))
    refine = [{"role": "user", "content": "Fix this: def f(x): return x - 1 (f(1) gave 0, expected 2)"}]
    other = [{"role": "user", "content": "Fix this: def f(x): return x (f(1) gave 1, expected 2)"}]
    with RunFolder(folder).trajectory_writer() as trajectory:
        trajectory.write(CandidateRecord(0, 0, "def f(x):\n    return x - 1\n", result=failed))
        trajectory.write(CandidateRecord(0, 1, "def f(x):\n    return x\n", result=failed))
        trajectory.write(CandidateRecord(1, 0, solution, parent=[0, 0], messages=refine, result=passed))
        trajectory.write(CandidateRecord(1, 1, solution, parent=[0, 1], messages=other, result=passed))
        trajectory.write(CandidateRecord(1, 2, "def f(x):\n    return 2\n", parent=[0, 1], messages=other,
                                         result=failed))

    render = lambda messages: "PROMPT: " + messages[-1]["content"]  # noqa: E731
    ds = build_dataset([tmp_path], repairs=True, render=render)
    repairs = [e for e in ds.examples if e.kind == "repair"]
    assert [e.kind for e in ds.examples].count("solution") == 1
    # the same fix of two different failures is two lessons; a failed refinement is none
    assert sorted(e.prompt for e in repairs) == sorted([render(refine), render(other)])
    assert all(e.code == solution and e.completion == format_target(solution) for e in repairs)
    assert "2 of them repairs" in ds.summary()
    assert [e.kind for e in build_dataset([tmp_path]).examples] == ["solution"]
    with pytest.raises(UserError, match="render"):
        build_dataset([tmp_path], repairs=True)


def test_dataset_hash_follows_content_not_location(tmp_path):
    write_run(tmp_path / "a", "Mbpp/601", "def f():\n    return 1\n")
    write_run(tmp_path / "b", "Mbpp/601", "def f():\n    return 1\n")
    write_run(tmp_path / "c", "Mbpp/601", "def f():\n    return 2\n")
    assert build_dataset([tmp_path / "a"]).sha256 == build_dataset([tmp_path / "b"]).sha256
    assert build_dataset([tmp_path / "a"]).sha256 != build_dataset([tmp_path / "c"]).sha256


def test_dataset_errors_are_one_line(tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        build_dataset([tmp_path / "missing"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="no run.json"):
        build_dataset([tmp_path / "empty"])
    write_run(tmp_path / "unsolved", "Mbpp/601", None, solved=False)
    with pytest.raises(UserError, match="nothing to train on"):
        build_dataset([tmp_path / "unsolved"])


# ---------------------------------------------------------------------------------------------------- guard


@pytest.mark.parametrize("task_id,split", [
    ("HumanEval/0", "HumanEval"), ("HumanEval/163", "HumanEval"), ("Mbpp/11", "MBPP test"),
    ("Mbpp/510", "MBPP test"), ("mbpp/42", "MBPP test"), ("MBPP_300", "MBPP test"),
    ("Mbpp/10", None), ("Mbpp/511", None), ("Mbpp/601", None), ("Mbpp/974", None), ("add", None),
    ("humane", None),
])
def test_eval_split_of(task_id, split):
    assert eval_split_of(task_id) == split


def test_guard_refuses_eval_tasks_and_names_them(tmp_path):
    write_run(tmp_path, "HumanEval/3", "def f():\n    return 1\n")
    write_run(tmp_path, "Mbpp/12", "def g():\n    return 2\n")
    write_run(tmp_path, "Mbpp/601", "def h():\n    return 3\n")

    with pytest.raises(UserError) as err:
        build_dataset([tmp_path])
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith("2 task(s) come from evaluation splits")
    assert "HumanEval/3" in message and "Mbpp/12" in message and "Mbpp/601" not in message
    assert "--force-eval-tasks" in message


def test_guard_accepts_train_ids_and_force_records_eval_ids(tmp_path):
    write_run(tmp_path, "Mbpp/601", "def h():\n    return 3\n")
    assert build_dataset([tmp_path]).eval_task_ids == []
    write_run(tmp_path, "HumanEval/3", "def f():\n    return 1\n")

    ds = build_dataset([tmp_path], force_eval_tasks=True)

    assert ds.eval_task_ids == ["HumanEval/3"]
    assert ds.task_ids == ["HumanEval/3", "Mbpp/601"]
    assert check_contamination(["Mbpp/601", "Mbpp/700"], force=False) == []


def test_cli_finetune_refuses_contaminated_runs_before_loading_a_model(tmp_path):
    from typer.testing import CliRunner

    from infinicode.cli import app

    write_run(tmp_path / "runs", "HumanEval/7", "def f():\n    return 1\n")
    result = CliRunner().invoke(app, ["finetune", str(tmp_path / "runs"), "--out", str(tmp_path / "adapter")])
    assert result.exit_code == 2
    assert "1 task(s) come from evaluation splits (HumanEval, MBPP test ids 11-510): HumanEval/7" in result.output
    assert not (tmp_path / "adapter").exists()


def test_cli_improve_refuses_eval_split_training_and_overlap(datasets, tmp_path):
    from typer.testing import CliRunner

    from infinicode.cli import app

    runner = CliRunner()
    contaminated = runner.invoke(app, ["improve", "--train", "mbpp:test", "--eval", "humaneval", "--data",
                                       str(datasets), "--out", str(tmp_path / "a")])
    assert contaminated.exit_code == 2
    assert "257 task(s) come from evaluation splits" in contaminated.output

    overlap = runner.invoke(app, ["improve", "--train", "mbpp:train", "--eval", "mbpp:train", "--data",
                                  str(datasets), "--limit-train", "3", "--limit-eval", "2",
                                  "--out", str(tmp_path / "b")])
    assert overlap.exit_code == 2
    assert "2 task(s) are both in --train and --eval (Mbpp/602, Mbpp/603)" in overlap.output


# ---------------------------------------------------------------------------------------------------- training


def _build_tiny_model(folder: Path, corpus: list[str]) -> Path:
    """A tiny random Llama with a byte-level BPE tokenizer trained on `corpus` and a ChatML template."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    bpe.train_from_iterator(corpus * 4, trainers.BpeTrainer(
        vocab_size=640, special_tokens=["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    tok = PreTrainedTokenizerFast(tokenizer_object=bpe, eos_token="<|im_end|>", pad_token="<|endoftext|>")
    tok.chat_template = ("{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n"
                         "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")
    tok.save_pretrained(folder)
    config = LlamaConfig(vocab_size=len(tok), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=1024,
                         eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id, bos_token_id=None,
                         tie_word_embeddings=False)
    torch.manual_seed(0)
    LlamaForCausalLM(config).save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def add_task():
    from agent.spec import load_spec

    return load_spec(REPO / "examples" / "add.toml")


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory, add_task):
    """Not the shared `tiny_model_dir`: its tokenizer (trained on stdlib source) turns the `add` prompt into 250 of
    its 256 positions, leaving no room to answer. This one's tokenizer knows the prompt, so sequences stay short."""
    from agent.prompts import SYSTEM_PROMPT, task_text

    corpus = [SYSTEM_PROMPT, task_text(add_task), format_target(ADD_SOLUTION), "def double(x):\n    return 2 * x\n"]
    return _build_tiny_model(tmp_path_factory.mktemp("tiny-model"), corpus)


@pytest.fixture(scope="module")
def tiny_runs(tmp_path_factory, tiny_dir, add_task):
    """Run folders whose round-0 prompts are rendered exactly as HFProvider renders them for the tiny model."""
    from agent.prompts import task_prompt
    from agent.provider.hf import HFProvider

    model = HFProvider.from_pretrained(model=str(tiny_dir), quantization="nf4", device="cpu")
    root = tmp_path_factory.mktemp("runs")
    messages = task_prompt(add_task)
    write_run(root, add_task.task_id, ADD_SOLUTION, prompt=model.render(messages), messages=messages)
    other = [{"role": "user", "content": "Write double(x)."}]
    write_run(root, "Mbpp/620", "def double(x):\n    return 2 * x\n", prompt=model.render(other), messages=other)
    forced = [{"role": "user", "content": "Write twice(x)."}]
    write_run(root, "HumanEval/1", "def twice(x):\n    return x + x\n", prompt=model.render(forced), messages=forced)
    return root


def test_loss_covers_the_answer_and_its_end_token_only(tiny_dir, add_task):
    from transformers import AutoTokenizer

    from agent.prompts import task_prompt
    from agent.sft_data import IGNORE_INDEX, SFTExample, encode_prompt, tokenize_example

    tok = AutoTokenizer.from_pretrained(tiny_dir)
    prompt = tok.apply_chat_template(task_prompt(add_task), tokenize=False, add_generation_prompt=True)
    ex = SFTExample("add", prompt, format_target(ADD_SOLUTION), ADD_SOLUTION, "run.json")
    prompt_ids = encode_prompt(tok, prompt)
    answer_ids = tok(ex.completion, add_special_tokens=False)["input_ids"] + [tok.eos_token_id]

    ids, labels = tokenize_example(tok, ex, max_length=512)
    assert ids == prompt_ids + answer_ids
    assert labels == [IGNORE_INDEX] * len(prompt_ids) + answer_ids

    assert len(prompt_ids) > 100
    cut_ids, cut_labels = tokenize_example(tok, ex, max_length=len(answer_ids) + 80)  # prompt cut from the left
    assert cut_ids == prompt_ids[-80:] + answer_ids and cut_labels == [IGNORE_INDEX] * 80 + answer_ids
    assert tokenize_example(tok, ex, max_length=len(answer_ids) + 1) is None  # no room left for a prompt


def _settings(tiny_dir, **kw) -> TrainSettings:
    # 80 epochs: the tiny random model memorizes the answer with room to spare (60 was on the edge: shifting the
    # cosine decay by one step made it answer with the closing fence first)
    base = dict(model=str(tiny_dir), quantization="nf4", device="cpu", epochs=80, lr=1e-2, rank=8,
                target_modules=TINY_TARGETS, batch_size=3, grad_accum=1, checkpoint_every=0, seed=0, dropout=0.0)
    base.update(kw)
    return TrainSettings(**base)


def _greedy(model, tokenizer, prompt: str, n: int = 24) -> list[int]:
    import torch

    from agent.sft_data import encode_prompt

    ids = torch.tensor([encode_prompt(tokenizer, prompt)])
    model.eval()
    with torch.no_grad():
        out = model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), max_new_tokens=n, do_sample=False,
                             pad_token_id=tokenizer.pad_token_id)
    return out[0, ids.shape[1]:].tolist()


@pytest.fixture(scope="module")
def trained(tmp_path_factory, tiny_dir, tiny_runs):
    """Generate with the 4-bit base first (the order that breaks LoRA gradients on AVX512-BF16 CPUs), then train."""
    from agent.provider.hf import load_base

    dataset = build_dataset([tiny_runs], force_eval_tasks=True)
    model, tokenizer = load_base(str(tiny_dir), quantization="nf4", device="cpu")
    before = _greedy(model, tokenizer, dataset.examples[0].prompt)
    out = tmp_path_factory.mktemp("adapter")
    result = train_adapter(dataset, out, _settings(tiny_dir), base=(model, tokenizer), show_progress=False)
    after = _greedy(result.model, tokenizer, dataset.examples[0].prompt)
    return {"dataset": dataset, "result": result, "out": out, "before": before, "after": after,
            "tokenizer": tokenizer}


def test_lr_schedule_warms_up_then_decays_to_a_tenth_of_the_peak():
    import torch

    from agent.finetune import make_scheduler

    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    scheduler = make_scheduler(optimizer, warmup=2, total=10)
    lrs = []
    for _ in range(10):
        lrs.append(scheduler.get_last_lr()[0])
        optimizer.step()
        scheduler.step()
    assert lrs[:2] == [0.5, 1.0]  # the first step already learns
    assert all(a > b for a, b in itertools.pairwise(lrs[1:])) and lrs[-1] == pytest.approx(0.1)


def test_training_lowers_the_loss(trained):
    losses = trained["result"].losses
    assert len(losses) == 80
    assert losses[-1] < 0.1 * losses[0]


def _lora_b_learned(model) -> dict[str, bool]:
    """lora_B matrices start at zero; after one optimizer step each is non-zero only if its gradient arrived.
    Inner layers' gradients must pass backwards through frozen 4-bit weights: exactly what the repacked CPU
    format breaks (after more steps the LoRA paths themselves carry gradient and hide the damage)."""
    return {n: float(p.detach().abs().sum()) > 0 for n, p in model.named_parameters() if "lora_B" in n}


def test_every_lora_layer_learns_in_the_first_step_after_a_generate(tmp_path, tiny_dir, tiny_runs):
    from agent.provider.hf import load_base

    model, tokenizer = load_base(str(tiny_dir), quantization="nf4", device="cpu")
    dataset = build_dataset([tiny_runs], force_eval_tasks=True)
    _greedy(model, tokenizer, dataset.examples[0].prompt, n=4)

    result = train_adapter(dataset, tmp_path / "a", _settings(tiny_dir, max_steps=1), base=(model, tokenizer),
                           show_progress=False)

    learned = _lora_b_learned(result.model)
    assert len(learned) == 2 * 7 + 1 and all(learned.values()), learned  # 2 layers x 7 projections + lm_head


def test_training_changes_what_the_model_generates(trained):
    tok = trained["tokenizer"]
    assert trained["after"] != trained["before"]
    assert tok.decode(trained["after"]).startswith("```python\ndef add(a: int, b: int) -> int:\n    return a + b\n```")


def test_adapter_folder_has_metadata_data_and_loss_plot(trained, tiny_dir):
    out, dataset = trained["out"], trained["dataset"]
    for name in ("adapter_config.json", "adapter_model.safetensors", ADAPTER_METADATA, TRAIN_DATA, LOSS_PLOT):
        assert (out / name).is_file(), name
    assert (out / LOSS_PLOT).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    meta = json.loads((out / ADAPTER_METADATA).read_text())
    assert meta["base_model"] == str(tiny_dir)
    assert meta["dataset"]["sha256"] == dataset.sha256
    assert meta["dataset"]["task_ids"] == ["add", "HumanEval/1", "Mbpp/620"]
    assert meta["dataset"]["eval_task_ids_forced"] == ["HumanEval/1"]
    assert meta["optimizer"] == "adamw_torch" and meta["device"] == "cpu"
    assert [s["step"] for s in meta["loss_per_step"]] == list(range(1, 81))  # one step per epoch (80)
    assert meta["loss_per_step"][-1]["loss"] == pytest.approx(trained["result"].losses[-1], abs=1e-5)
    assert meta["settings"]["rank"] == 8 and meta["settings"]["lr"] == 1e-2
    assert len((out / TRAIN_DATA).read_text().splitlines()) == 3
    assert not (out / "checkpoints").exists()


def test_a_base_repacked_by_generate_still_trains_every_layer(tmp_path, tiny_dir, tiny_runs):
    """A 4-bit base loaded without infinicode's loader and used for generation first (its Linear4bit weights are
    repacked for the CPU kernel on AVX512-BF16 machines): train_adapter must unpack them."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, BitsAndBytesConfig

    quant = BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
                               bnb_4bit_compute_dtype=torch.float32)
    model = AutoModelForCausalLM.from_pretrained(str(tiny_dir), quantization_config=quant, dtype=torch.float32)
    tokenizer = AutoTokenizer.from_pretrained(str(tiny_dir))
    dataset = build_dataset([tiny_runs], force_eval_tasks=True)
    _greedy(model, tokenizer, dataset.examples[0].prompt, n=4)

    result = train_adapter(dataset, tmp_path / "a", _settings(tiny_dir, max_steps=1), base=(model, tokenizer),
                           show_progress=False)

    learned = _lora_b_learned(result.model)
    assert len(learned) == 15 and all(learned.values()), learned


def test_checkpoint_resume_matches_an_uninterrupted_run(tmp_path, tiny_dir, tiny_runs):
    dataset = build_dataset([tiny_runs], force_eval_tasks=True)
    settings = _settings(tiny_dir, epochs=6, batch_size=1, grad_accum=2, checkpoint_every=2, dropout=0.1)
    straight = train_adapter(dataset, tmp_path / "straight", settings, show_progress=False)

    class Interrupted(Exception):
        pass

    def stop_at_5(step, total, loss, lr):
        if step == 5:
            raise Interrupted

    with pytest.raises(Interrupted):
        train_adapter(dataset, tmp_path / "resumed", settings, on_step=stop_at_5, show_progress=False)
    assert sorted(p.name for p in (tmp_path / "resumed" / "checkpoints").iterdir()) == ["step-000002",
                                                                                        "step-000004"]
    resumed = train_adapter(dataset, tmp_path / "resumed", settings, show_progress=False)

    assert resumed.resumed_from == 4
    assert resumed.steps == straight.steps == 12
    assert resumed.losses == pytest.approx(straight.losses, rel=1e-4)


def test_resume_refuses_a_checkpoint_of_other_settings(tmp_path, tiny_dir, tiny_runs):
    dataset = build_dataset([tiny_runs], force_eval_tasks=True)
    settings = _settings(tiny_dir, epochs=1, batch_size=1, grad_accum=1, checkpoint_every=1, max_steps=2)

    class Interrupted(Exception):
        pass

    def stop(step, total, loss, lr):
        raise Interrupted

    with pytest.raises(Interrupted):
        train_adapter(dataset, tmp_path / "a", settings, on_step=stop, show_progress=False)
    with pytest.raises(UserError, match="checkpoint of a different run"):
        train_adapter(dataset, tmp_path / "a", _settings(tiny_dir, epochs=1, batch_size=1, lr=1e-3),
                      show_progress=False)


# ---------------------------------------------------------------------------------------------------- using it


def test_adapter_loads_into_codemodel_and_solves_in_the_sandbox(trained, tiny_dir, add_task, sandbox, tmp_path):
    from agent.orchestrator import solve_task
    from agent.provider.hf import HFProvider

    tuned = HFProvider.from_pretrained(model=str(tiny_dir), adapter=str(trained["out"]), quantization="nf4",
                                      device="cpu")
    solved = solve_task(add_task, tuned, sandbox, tmp_path / "tuned", samples=2, rounds=1, temperature=0.2,
                         max_new_tokens=64)
    assert solved.solved, solved
    run = json.loads((tmp_path / "tuned" / "run.json").read_text())
    assert run["adapter"] and Path(run["adapter"]).resolve() == trained["out"].resolve()

    base = HFProvider.from_pretrained(model=str(tiny_dir), quantization="nf4", device="cpu")
    unsolved = solve_task(add_task, base, sandbox, tmp_path / "base", samples=2, rounds=1, temperature=0.2,
                         max_new_tokens=64)
    assert not unsolved.solved


# ---------------------------------------------------------------------------------------------------- improve


def test_parse_suite_arg(tmp_path):
    from infinicode.improve import parse_suite_arg

    assert parse_suite_arg("mbpp:train", "test") == ("mbpp", "train")
    assert parse_suite_arg("humaneval", "test") == ("humaneval", "test")
    assert parse_suite_arg(str(tmp_path), "train") == (str(tmp_path), "train")
    with pytest.raises(UserError, match="SUITE"):
        parse_suite_arg("mbpp:", "test")


@pytest.fixture(scope="module")
def solver_dir(tmp_path_factory, tiny_dir, add_task):
    """The tiny model, fully fine-tuned to answer the `add` prompt: a base that solves one training task, so the
    improve loop has something to learn from."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from agent.prompts import task_prompt
    from agent.sft_data import SFTExample, tokenize_example

    tokenizer = AutoTokenizer.from_pretrained(tiny_dir)
    model = AutoModelForCausalLM.from_pretrained(tiny_dir, dtype=torch.float32)
    prompt = tokenizer.apply_chat_template(task_prompt(add_task), tokenize=False, add_generation_prompt=True)
    ids, labels = tokenize_example(tokenizer, SFTExample("add", prompt, format_target(ADD_SOLUTION), "", ""), 512)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    torch.manual_seed(0)
    model.train()
    for _ in range(60):
        model(input_ids=torch.tensor([ids]), labels=torch.tensor([labels])).loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    out = tmp_path_factory.mktemp("solver")
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


def test_improve_runs_rounds_and_reports_pass_at_1_against_the_base(tmp_path, solver_dir):
    from typer.testing import CliRunner

    from infinicode.cli import app

    add_spec = (REPO / "examples" / "add.toml").read_text()
    (tmp_path / "train").mkdir()
    (tmp_path / "train" / "add.toml").write_text(add_spec)
    (tmp_path / "eval").mkdir()  # "plus" reads exactly like "add" to the model; "double" is another task
    (tmp_path / "eval" / "plus.toml").write_text(add_spec.replace('name = "add"', 'name = "plus"'))
    (tmp_path / "eval" / "double.toml").write_text(
        'name = "double"\ndescription = "Return twice x."\nentry_point = "double"\n'
        'signature = "def double(x: int) -> int"\n[tests]\nasserts = ["assert double(2) == 4"]\n')
    out = tmp_path / "improve"
    args = ["improve", "--train", str(tmp_path / "train"), "--eval", str(tmp_path / "eval"), "--rounds", "1",
            "--samples", "2", "--eval-samples", "3", "--solve-rounds", "1", "--model", str(solver_dir),
            "--max-new-tokens", "40",
            "--epochs", "1", "--max-steps", "2", "--rank", "4", "--batch-size", "1", "--grad-accum", "1",
            "--out", str(out)]

    result = CliRunner().invoke(app, args)

    assert result.exit_code == 0, result.output
    state = json.loads((out / "improve.json").read_text())
    rounds = {r["round"]: r for r in state["rounds"]}
    assert sorted(rounds) == [0, 1]
    assert rounds[0]["train_solved"] == 1 and rounds[0]["adapter"] is None
    assert rounds[0]["eval_counts"] == {"double": [3, 0], "plus": [3, 3]}  # n = --eval-samples
    assert rounds[0]["eval_pass_at_1"] == 0.5
    assert rounds[1]["examples"] == 1 and rounds[1]["train_steps"] == 1  # 1 example, 1 epoch
    meta = json.loads((out / "round-1" / "adapter" / ADAPTER_METADATA).read_text())
    assert meta["dataset"]["task_ids"] == ["add"] and meta["base_model"] == str(solver_dir)
    assert set(rounds[1]["eval_counts"]) == {"double", "plus"}
    assert (out / "round-1" / "eval" / "plus.json").is_file()
    assert (out / "round-0" / "train" / "tasks" / "add" / "run.json").is_file()
    table = (out / "results.md").read_text()
    assert "| 0 | base | - | - | 1/1 | 0.500 | - |" in table
    assert "| 1 | adapter 1 | 1 / 1 |" in table
    assert set(rounds[0]["step_s"]) == {"evaluate", "solve"} and set(rounds[1]["step_s"]) == {"fine-tune", "evaluate"}
    assert "time per step: round 0: evaluate " in table and ", solve " in table and "round 1: fine-tune " in table
    assert table.splitlines()[0] in result.output

    # a second run with the same options resumes: nothing is trained again
    stamp = (out / "round-1" / "adapter" / "adapter_model.safetensors").stat().st_mtime_ns
    again = CliRunner().invoke(app, args)
    assert again.exit_code == 0, again.output
    assert (out / "round-1" / "adapter" / "adapter_model.safetensors").stat().st_mtime_ns == stamp
    assert json.loads((out / "improve.json").read_text())["rounds"] == state["rounds"]

    # a folder written before a setting existed resumes at that setting's default; other settings are refused
    saved = json.loads((out / "improve.json").read_text())
    del saved["settings"]["eval_samples"]
    (out / "improve.json").write_text(json.dumps(saved))
    without = [a for a in args if a not in ("--eval-samples", "3")]
    older = CliRunner().invoke(app, without)
    assert older.exit_code == 0, older.output
    assert json.loads((out / "improve.json").read_text())["rounds"] == state["rounds"]
    other = CliRunner().invoke(app, without[:without.index("--samples") + 1] + ["3"]
                               + without[without.index("--samples") + 2:])
    assert other.exit_code == 2 and "other settings" in other.output
