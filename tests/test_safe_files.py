"""Files on disk are safe to read and to write.

- Reading: a checkpoint that carries a pickled payload (an object whose ``__reduce__`` would
  run code) is refused by ``load_checkpoint`` and ``train_or_load`` (they load with
  ``weights_only=True``), and the payload never runs. A damaged cache entry is reported with
  a warning and trained again, giving the model a fresh training gives.
- Writing: checkpoints go to a temporary file renamed over the target only on success; a
  failure in the middle of writing leaves the old file as it was and no temporary file behind.
  (Downloads do the same through pooch: tests/test_download.py tries them on a local server.)
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import pytest
import torch

import aelib.training as training
from aelib.models import ModelConfig, build_model
from aelib.paths import atomic_write
from aelib.training import (
    CheckpointError,
    History,
    load_checkpoint,
    save_checkpoint,
    train_or_load,
)

D = 16
CONFIG = ModelConfig(kind="vae", input_dim=D, hidden=(8,), latent_dim=2)
X = torch.rand(40, D, generator=torch.Generator().manual_seed(0))
RUN = {"epochs": 2, "batch_size": 16, "lr": 1e-2, "seed": 3, "progress": False}


class Payload:
    """Unpickling this creates ``marker``: a stand-in for any code hidden in a pickle."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def same_weights(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def files_in(folder: Path) -> list[str]:
    """Every name in ``folder``, hidden temporary files included."""
    return sorted(p.name for p in folder.iterdir())


def plant_payload(path: Path, marker: Path) -> None:
    """Rewrite the checkpoint at ``path`` with the payload hidden in its metadata; everything
    else (format, version, config, weights, cache key) stays valid."""
    payload = torch.load(path, weights_only=True)
    payload["metadata"]["note"] = Payload(marker)
    torch.save(payload, path)


# --------------------------------------------------------------------------- pickled payloads


def test_load_checkpoint_refuses_a_pickled_payload_without_running_it(tmp_path):
    path, marker = tmp_path / "model.pt", tmp_path / "payload-ran"
    save_checkpoint(path, build_model(CONFIG, seed=0), History(train_loss=[1.0]))
    plant_payload(path, marker)
    with pytest.raises(CheckpointError, match=r"model\.pt is not a readable checkpoint: it holds "
                                              r"pickled Python objects.*weights_only=True"):
        load_checkpoint(path)
    assert not marker.exists(), "loading the checkpoint ran the pickled payload"
    # The payload is live: an unsafe load would have run it.
    torch.load(path, weights_only=False)
    assert marker.exists()


def test_train_or_load_refuses_a_pickled_cache_entry_and_trains_again(tmp_path):
    cache, marker = tmp_path / "cache", tmp_path / "payload-ran"
    first, history = train_or_load(CONFIG, X, cache_dir=cache, **RUN)
    (entry,) = cache.glob("*.pt")
    plant_payload(entry, marker)
    with pytest.warns(RuntimeWarning, match=r"ignoring the damaged cache entry .*"
                                            r"not a readable checkpoint"):
        again, history_again = train_or_load(CONFIG, X, cache_dir=cache, **RUN)
    assert not marker.exists(), "reading the cache ran the pickled payload"
    assert history_again == history and same_weights(again, first)
    assert files_in(cache) == [f".{entry.name}.lock", entry.name]   # its lock stays
    load_checkpoint(entry)  # the entry was replaced by a clean one


# --------------------------------------------------------------------------- damaged cache


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:200])


def _flip_bytes(path: Path) -> None:
    raw = bytearray(path.read_bytes())
    for i in range(len(raw) // 3, len(raw) // 3 + 64):
        raw[i] ^= 0xA5
    path.write_bytes(bytes(raw))


def _empty(path: Path) -> None:
    path.write_bytes(b"")


def _foreign(path: Path) -> None:
    torch.save({"weights": torch.zeros(3)}, path)


def _other_run(path: Path) -> None:
    payload = torch.load(path, weights_only=True)
    payload["metadata"]["cache_key"] = "0" * 64
    torch.save(payload, path)


def _no_history(path: Path) -> None:
    payload = torch.load(path, weights_only=True)
    payload["history"] = None
    torch.save(payload, path)


def _wrong_config(path: Path) -> None:
    payload = torch.load(path, weights_only=True)
    payload["config"]["hidden"] = [9]
    torch.save(payload, path)


DAMAGES = {
    "truncated": (_truncate, "not a readable checkpoint"),
    "bytes-flipped": (_flip_bytes, "not a readable checkpoint"),
    "empty-file": (_empty, "not a readable checkpoint"),
    "foreign-torch-file": (_foreign, "not an aelib checkpoint"),
    "entry-of-another-run": (_other_run, "saved for a different training run"),
    "no-history": (_no_history, "has no training history"),
    "config-not-matching-weights": (_wrong_config, "config does not match its weights"),
}


@pytest.mark.parametrize("damage", list(DAMAGES), ids=list(DAMAGES))
def test_a_damaged_cache_entry_is_reported_and_trained_again(tmp_path, damage):
    damage_file, reason = DAMAGES[damage]
    cache = tmp_path / "cache"
    fresh, history = train_or_load(CONFIG, X, cache_dir=tmp_path / "reference", **RUN)
    train_or_load(CONFIG, X, cache_dir=cache, **RUN)
    (entry,) = cache.glob("*.pt")
    damage_file(entry)
    with pytest.warns(RuntimeWarning, match=f"ignoring the damaged cache entry .*{reason}"):
        model, history_again = train_or_load(CONFIG, X, cache_dir=cache, **RUN)
    assert history_again == history and same_weights(model, fresh), \
        "retraining over a damaged entry must give what a fresh training gives"
    assert not model.training
    assert files_in(cache) == [f".{entry.name}.lock", entry.name]   # its lock stays
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the rewritten entry now loads without a warning
        loaded, _ = train_or_load(CONFIG, X, cache_dir=cache, **RUN)
    assert same_weights(loaded, fresh)


def test_two_fresh_caches_give_bit_identical_models_and_histories(tmp_path):
    a, history_a = train_or_load(CONFIG, X, cache_dir=tmp_path / "a", **RUN)
    b, history_b = train_or_load(CONFIG, X, cache_dir=tmp_path / "b", **RUN)
    assert history_a.to_dict()["train_loss"] == history_b.to_dict()["train_loss"]
    assert history_a == history_b and same_weights(a, b)


# --------------------------------------------------------------------------- atomic writes


class DiskFull(OSError):
    pass


def failing_torch_save(after_bytes: int, error: BaseException):
    """A torch.save that writes ``after_bytes`` of the real output, then raises ``error``."""
    real_save = torch.save

    def save(obj, handle, *args, **kwargs):
        buffer = io.BytesIO()
        real_save(obj, buffer, *args, **kwargs)
        handle.write(buffer.getvalue()[:after_bytes])
        raise error

    return save


@pytest.mark.parametrize("error", [DiskFull(28, "No space left on device"), KeyboardInterrupt()],
                         ids=["disk-full", "interrupted"])
def test_a_checkpoint_write_that_fails_midway_keeps_the_old_file(tmp_path, monkeypatch, error):
    path = tmp_path / "model.pt"
    old_model = build_model(CONFIG, seed=0)
    save_checkpoint(path, old_model, History(train_loss=[1.0]))
    old_bytes = path.read_bytes()
    monkeypatch.setattr(training.torch, "save", failing_torch_save(1000, error))
    with pytest.raises(type(error)):
        save_checkpoint(path, build_model(CONFIG, seed=1), History(train_loss=[2.0]))
    monkeypatch.undo()
    assert path.read_bytes() == old_bytes, "the old checkpoint was damaged"
    assert files_in(tmp_path) == ["model.pt"], "a temporary file was left behind"
    model, history = load_checkpoint(path)
    assert same_weights(model, old_model) and history.train_loss == [1.0]


def test_a_first_checkpoint_write_that_fails_leaves_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(training.torch, "save", failing_torch_save(10, DiskFull(28, "full")))
    with pytest.raises(DiskFull):
        save_checkpoint(tmp_path / "model.pt", build_model(CONFIG, seed=0))
    assert files_in(tmp_path) == []


def test_atomic_write_replaces_only_on_success(tmp_path):
    path = tmp_path / "file.bin"
    path.write_bytes(b"old")
    with pytest.raises(RuntimeError, match="midway"), atomic_write(path) as handle:
        handle.write(b"new, half written")
        raise RuntimeError("midway")
    assert path.read_bytes() == b"old" and files_in(tmp_path) == ["file.bin"]
    with atomic_write(path) as handle:
        handle.write(b"new")
    assert path.read_bytes() == b"new" and files_in(tmp_path) == ["file.bin"]
