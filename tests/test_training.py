"""aelib.training: fit, History, checkpoints and the cache of trained models."""

from __future__ import annotations

import json
import math

import pytest
import torch

import aelib.training as training
from aelib.evaluation import encode_dataset
from aelib.models import ModelConfig, build_model
from aelib.training import (
    CheckpointError,
    GaussianNoise,
    History,
    NonFiniteLossError,
    cache_key,
    data_fingerprint,
    evaluate_loss,
    fit,
    load_checkpoint,
    save_checkpoint,
    train_or_load,
)

D = 16


def config(**changes) -> ModelConfig:
    return ModelConfig(**{"kind": "vae", "input_dim": D, "hidden": (12,), "latent_dim": 2,
                          **changes})


def dataset(n: int = 96, seed: int = 0) -> torch.Tensor:
    """Images on a 2-D manifold: sigmoid of a random linear map of two factors."""
    gen = torch.Generator().manual_seed(seed)
    factors = torch.randn(n, 2, generator=gen)
    return torch.sigmoid(3.0 * factors @ torch.randn(2, D, generator=gen))


TRAIN, VAL = dataset(96, seed=0), dataset(40, seed=1)
QUICK = {"epochs": 3, "batch_size": 32, "lr": 1e-2, "progress": False}


def same_weights(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


# --------------------------------------------------------------------------- History


def test_history_round_trips_and_ignores_seconds_in_equality():
    history = History(train_loss=[3.0, 2.0], train_reconstruction=[2.5, 1.5],
                      train_kl=[0.5, 0.5], train_penalty=[0.0, 0.0], val_loss=[3.1],
                      val_reconstruction=[2.6], val_kl=[0.5], val_penalty=[0.0],
                      seconds=[0.1, 0.2])
    plain = json.loads(json.dumps(history.to_dict()))
    assert History.from_dict(plain) == history and History.from_dict(plain).seconds == [0.1, 0.2]
    assert history.epochs == 2
    assert History(train_loss=[1.0], seconds=[5.0]) == History(train_loss=[1.0], seconds=[9.0])


def test_history_from_dict_refuses_bad_values():
    with pytest.raises(ValueError, match="unknown History fields"):
        History.from_dict({"loss": [1.0]})
    with pytest.raises(TypeError, match="train_loss"):
        History.from_dict({"train_loss": 1.0})
    with pytest.raises(TypeError, match="values"):
        History.from_dict([1.0])


# --------------------------------------------------------------------------- fit


@pytest.mark.parametrize("kind", ["ae", "vae"])
def test_fit_lowers_the_loss_and_records_every_epoch(kind):
    model = build_model(config(kind=kind), seed=0)
    history = fit(model, TRAIN, VAL, seed=0, **{**QUICK, "epochs": 8})
    assert history.epochs == 8
    for name in ("train_loss", "train_reconstruction", "train_kl", "train_penalty", "val_loss",
                 "val_reconstruction", "val_kl", "val_penalty", "seconds"):
        assert len(getattr(history, name)) == 8, name
    assert history.train_loss[-1] < history.train_loss[0]
    assert history.val_loss[-1] < history.val_loss[0]
    if kind == "ae":
        assert history.train_kl == [0.0] * 8
    assert history.train_penalty == [0.0] * 8  # penalty="none", and a VAE has none
    assert model.training  # fit leaves the mode as it found it


def test_fit_is_bit_for_bit_repeatable_under_a_seed():
    runs = []
    for _ in range(2):
        model = build_model(config(), seed=0)
        runs.append((model, fit(model, TRAIN, VAL, seed=7, **QUICK)))
    (m1, h1), (m2, h2) = runs
    assert h1 == h2 and h1.to_dict()["train_loss"] == h2.to_dict()["train_loss"]
    assert same_weights(m1, m2)
    m3 = build_model(config(), seed=0)
    assert fit(m3, TRAIN, VAL, seed=8, **QUICK) != h1


def test_fit_takes_the_steps_of_a_plain_loop_with_its_schedule():
    """fit = Adam stepped after each batch, then the schedule; nothing else touches the run."""
    for schedule in training.SCHEDULES:
        model, hand = build_model(config(kind="ae"), seed=0), build_model(config(kind="ae"), seed=0)
        fit(model, TRAIN, epochs=3, batch_size=32, lr=1e-2, schedule=schedule, progress=False)
        generator = torch.Generator().manual_seed(0)
        optimizer, scheduler = training.make_optimizer(list(hand.parameters()), lr=1e-2,
                                                       schedule=schedule, total_steps=3 * 3)
        for _ in range(3):
            order = torch.randperm(len(TRAIN), generator=generator)
            for start in range(0, len(TRAIN), 32):
                optimizer.zero_grad()
                hand.loss(TRAIN[order[start:start + 32]]).total.backward()
                optimizer.step()
                if scheduler is not None:
                    scheduler.step()
        assert same_weights(model, hand), schedule
    assert not same_weights(model, build_model(config(kind="ae"), seed=0))


def test_the_one_cycle_schedule_warms_up_to_lr_then_anneals_to_almost_nothing():
    model = build_model(config(), seed=0)
    optimizer, scheduler = training.make_optimizer(list(model.parameters()), lr=1e-2,
                                                   schedule="one_cycle", total_steps=100)
    rates = []
    for _ in range(100):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    peak = max(range(100), key=rates.__getitem__)
    assert rates[0] == pytest.approx(1e-2 / 25) and rates[peak] == pytest.approx(1e-2)
    assert 25 <= peak <= 35 and rates[-1] < 1e-2 / 1000
    assert all(a <= b for a, b in zip(rates[:peak], rates[1:peak + 1], strict=True))
    assert all(a >= b for a, b in zip(rates[peak:-1], rates[peak + 1:], strict=True))
    constant, none = training.make_optimizer(list(model.parameters()), lr=1e-2,
                                             schedule="constant", total_steps=100)
    assert none is None and constant.param_groups[0]["lr"] == 1e-2


# --------------------------------------------------------------------------- devices


def test_fit_on_the_cpu_by_name_is_the_default_run_bit_for_bit():
    runs = []
    for device in (None, "cpu", torch.device("cpu")):
        model = build_model(config(), seed=0, device="cpu" if device is None else device)
        runs.append((model, fit(model, TRAIN, VAL, seed=3, device=device, **QUICK)))
    for model, history in runs[1:]:
        assert history == runs[0][1] and same_weights(model, runs[0][0])
        assert model.device == torch.device("cpu")


@pytest.mark.parametrize("call", [
    lambda: build_model(config(), device="gpu"),
    lambda: fit(build_model(config()), TRAIN, epochs=1, device="tpu:0"),
    lambda: train_or_load(config(), TRAIN, epochs=1, device="meta"),
])
def test_an_unknown_device_is_refused_by_name(call):
    with pytest.raises(ValueError, match=r"device must be 'cpu', 'cuda', 'cuda:N' or 'mps'"):
        call()


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a CUDA device")
def test_a_device_this_machine_lacks_is_refused_before_any_work(tmp_path):
    with pytest.raises(ValueError, match=r"device is 'cuda', but this machine has no such"):
        train_or_load(config(), TRAIN, epochs=1, device="cuda", cache_dir=tmp_path)
    with pytest.raises(TypeError, match=r"device must be a device name .* got int 0"):
        fit(build_model(config()), TRAIN, epochs=1, device=0)
    assert list(tmp_path.iterdir()) == []


def _accelerators() -> list:
    """Every accelerator this machine has; each test below is skipped where there is none."""
    return [pytest.param(name, marks=pytest.mark.skipif(not available,
                                                         reason=f"no {name} device here"))
            for name, available in (("cuda", torch.cuda.is_available()),
                                    ("mps", torch.backends.mps.is_available()))]


@pytest.mark.parametrize("device", _accelerators())
def test_training_on_an_accelerator_repeats_bit_for_bit_and_loads_on_the_cpu(tmp_path, device):
    torch.use_deterministic_algorithms(True, warn_only=True)
    try:
        runs = []
        for _ in range(2):
            model = build_model(config(), seed=3, device=device)
            runs.append((model, fit(model, TRAIN, VAL, seed=3, **QUICK)))
        cached, _ = train_or_load(config(), TRAIN, VAL, seed=3, cache_dir=tmp_path,
                                  device=device, **QUICK)
    finally:
        torch.use_deterministic_algorithms(False)
    (m1, h1), (m2, h2) = runs
    assert m1.device.type == device and h1 == h2 and same_weights(m1, m2)
    save_checkpoint(tmp_path / "m.pt", m1, h1)
    on_cpu, history = load_checkpoint(tmp_path / "m.pt")
    assert history == h1 and same_weights(on_cpu, m1.cpu())
    # The evaluation functions follow the model to its device and answer on the CPU.
    codes = encode_dataset(m1.to(device), VAL)
    assert codes.device.type == "cpu"
    torch.testing.assert_close(codes, encode_dataset(on_cpu, VAL), rtol=1e-4, atol=1e-5)
    assert cached.device.type == device and same_weights(cached.cpu(), on_cpu)


def test_the_cache_keeps_runs_on_different_devices_apart():
    base = {"epochs": 2, "batch_size": 32, "lr": 1e-2, "schedule": "one_cycle", "seed": 0}
    on_cpu = cache_key(config(), TRAIN, VAL, **base)
    on_gpu = cache_key(config(), TRAIN, VAL, **base, device=torch.device("cuda"))
    assert on_cpu[1]["device"] == "cpu" and on_gpu[1]["device"] == "cuda"
    assert on_cpu[0] != on_gpu[0]


def test_fit_without_validation_leaves_val_lists_empty():
    history = fit(build_model(config(), seed=0), TRAIN, seed=0, **QUICK)
    assert history.val_loss == [] and history.epochs == 3


def test_fit_validates_in_eval_mode_without_gradients():
    model = build_model(config(), seed=0)
    calls = []
    model.encoder.register_forward_hook(
        lambda module, inputs, output: calls.append(
            (len(inputs[0]), module.training, torch.is_grad_enabled())))
    fit(model, TRAIN, VAL, seed=0, **{**QUICK, "epochs": 1})
    val_calls = [c for c in calls if c[0] == len(VAL)]
    train_calls = [c for c in calls if c[0] != len(VAL)]
    assert val_calls == [(len(VAL), False, False)]
    assert train_calls and all(training and grad for _, training, grad in train_calls)


def test_fit_shows_a_progress_bar_only_when_asked(capsys):
    fit(build_model(config(), seed=0), TRAIN, seed=0, **QUICK)
    assert capsys.readouterr().err == ""
    fit(build_model(config(), seed=0), TRAIN, VAL, seed=0, **{**QUICK, "progress": True})
    err = capsys.readouterr().err
    assert "training" in err and "3/3" in err and "loss=" in err and "val=" in err


def test_fit_callback_sees_each_epoch_and_can_stop_early():
    seen = []

    def stop_after_two(epoch: int, history: History) -> bool:
        seen.append((epoch, history.epochs))
        return epoch == 2

    history = fit(build_model(config(), seed=0), TRAIN, seed=0, callback=stop_after_two,
                  **{**QUICK, "epochs": 10})
    assert seen == [(1, 1), (2, 2)] and history.epochs == 2


def test_fit_names_the_epoch_and_batch_where_the_loss_stops_being_finite():
    model = build_model(config(), seed=0)
    with torch.no_grad():
        model.decoder[-1].weight[0, 0] = math.nan
    with pytest.raises(NonFiniteLossError, match="epoch 1, batch 1"):
        fit(model, TRAIN, seed=0, **QUICK)

    def poison(epoch: int, history: History) -> None:
        with torch.no_grad():
            model.encoder[0].bias.fill_(math.inf)

    model = build_model(config(kind="ae"), seed=0)
    with pytest.raises(ValueError, match="epoch 2, batch 1") as info:
        fit(model, TRAIN, seed=0, callback=poison, **QUICK)
    assert isinstance(info.value, NonFiniteLossError) and info.value.epoch == 2


def test_fit_trains_a_denoising_autoencoder_on_corrupted_inputs():
    seen = []

    def corrupt(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        seen.append(x.clone())
        return GaussianNoise(0.3)(x, generator)

    model = build_model(config(kind="ae"), seed=0)
    history = fit(model, TRAIN, VAL, seed=0, corrupt=corrupt, **QUICK)
    assert len(seen) == 3 * 3  # 3 epochs of 96 / 32 batches, each a clean batch of TRAIN
    assert all(any(torch.equal(row, t) for t in TRAIN) for row in seen[0][:3])
    assert history.epochs == 3 and history.train_loss[-1] < history.train_loss[0]


def test_gaussian_noise_is_seeded_clipped_and_refuses_bad_values():
    x = torch.full((2, 3), 0.5)
    noisy = GaussianNoise(1.0)(x, torch.Generator().manual_seed(0))
    assert torch.equal(noisy, GaussianNoise(1.0)(x, torch.Generator().manual_seed(0)))
    assert noisy.min() >= 0 and noisy.max() <= 1 and not torch.equal(noisy, x)
    assert torch.equal(GaussianNoise(0.0)(x), x)
    assert GaussianNoise(0.2).to_dict() == {"kind": "gaussian_noise", "std": 0.2, "clip": True}
    with pytest.raises(ValueError, match="std"):
        GaussianNoise(-0.1)
    with pytest.raises(TypeError, match="clip"):
        GaussianNoise(0.1, clip=1)


@pytest.mark.parametrize(("kwargs", "error", "pattern"), [
    ({"epochs": 0}, ValueError, "epochs"),
    ({"batch_size": 0}, ValueError, "batch_size"),
    ({"lr": 0.0}, ValueError, "lr"),
    ({"seed": -1}, ValueError, "seed"),
    ({"corrupt": 0.3}, TypeError, "corrupt"),
    ({"callback": "stop"}, TypeError, "callback"),
    ({"schedule": "cosine"}, ValueError, "schedule must be one of 'one_cycle', 'constant'"),
    ({"train_x": torch.zeros(8, D + 1)}, ValueError, "train_x"),
    ({"train_x": torch.zeros(8, D, dtype=torch.float64)}, TypeError, "train_x"),
    ({"val_x": torch.full((8, D), math.nan)}, ValueError, "val_x"),
    ({"model": torch.nn.Linear(D, D)}, TypeError, "model"),
])
def test_fit_refuses_bad_arguments_by_name(kwargs, error, pattern):
    args = {"model": build_model(config()), "train_x": TRAIN, "val_x": None,
            "epochs": 1, "progress": False, **kwargs}
    with pytest.raises(error, match=pattern):
        fit(args.pop("model"), args.pop("train_x"), args.pop("val_x"), **args)


def test_evaluate_loss_averages_per_image_over_batches():
    ae = build_model(config(kind="ae"), seed=0)
    whole = evaluate_loss(ae, VAL)
    assert set(whole) == {"total", "reconstruction", "kl", "penalty", "discriminator",
                          "generator"}
    assert whole["kl"] == whole["penalty"] == whole["discriminator"] == whole["generator"] == 0.0
    assert whole["total"] == pytest.approx(ae.loss(VAL).total.item(), rel=1e-6)
    assert evaluate_loss(ae, VAL, batch_size=7)["total"] == pytest.approx(whole["total"],
                                                                           rel=1e-6)
    vae = build_model(config(), seed=0)
    assert evaluate_loss(vae, VAL, seed=1) == evaluate_loss(vae, VAL, seed=1)
    assert all(p.grad is None for p in vae.parameters()) and vae.training
    with pytest.raises(ValueError, match="batch_size"):
        evaluate_loss(vae, VAL, batch_size=0)
    with pytest.raises(ValueError, match="x must have input_dim"):
        evaluate_loss(vae, torch.zeros(3, 2))


@pytest.mark.parametrize("kind", ["ae", "vae"])
@pytest.mark.parametrize(("bad", "error", "pattern"), [
    (torch.zeros(4, D + 1), ValueError, "x must have input_dim"),
    (torch.full((4, D), math.nan), ValueError, "x must not contain NaN"),
    (torch.zeros(4, D, dtype=torch.float64), TypeError, "x must have the model's dtype"),
    (torch.zeros(4, D, dtype=torch.uint8), TypeError, "x must be a floating-point"),
    (torch.zeros(D), ValueError, "x must have 2 dimensions"),
    (torch.zeros(0, D), ValueError, "x must not be empty"),
    ([[0.0] * D], TypeError, "x must be a torch.Tensor"),
    (torch.full((4, D), 2.0), ValueError, r"x must lie in \[0, 1\] for a Bernoulli"),
])
def test_the_entry_points_refuse_bad_images_by_name(kind, bad, error, pattern):
    """The models' methods check nothing; fit and evaluate_loss check the data on entry."""
    model = build_model(config(kind=kind))
    with pytest.raises(error, match=pattern):
        evaluate_loss(model, bad)
    with pytest.raises(error, match="train_" + pattern):
        fit(model, bad, epochs=1, progress=False)
    with pytest.raises(error, match="val_" + pattern):
        fit(model, TRAIN, bad, epochs=1, progress=False)


def test_gaussian_models_accept_images_outside_the_unit_interval():
    model = build_model(config(likelihood="gaussian"), seed=0)
    assert math.isfinite(evaluate_loss(model, TRAIN * 4.0 - 2.0)["total"])


def test_a_corruption_that_breaks_the_images_is_named():
    with pytest.raises(ValueError, match=r"corrupt\(x\) must not contain NaN"):
        fit(build_model(config(kind="ae")), TRAIN, epochs=1, progress=False,
            corrupt=lambda x, generator: x * math.nan)


def test_fit_records_the_validation_loss_evaluate_loss_reports():
    """fit skips re-checking val_x every epoch; its numbers must still be evaluate_loss's."""
    vae = build_model(config(), seed=0)
    history = fit(vae, TRAIN, VAL, seed=3, **{**QUICK, "epochs": 1})
    again = evaluate_loss(vae, VAL, seed=3)
    assert (history.val_loss[0], history.val_reconstruction[0], history.val_kl[0]) == (
        again["total"], again["reconstruction"], again["kl"])


# --------------------------------------------------------------------------- checkpoints


@pytest.mark.parametrize("cfg", [config(), config(kind="ae", likelihood="gaussian",
                                                  sigma="learned")])
def test_checkpoint_round_trip(tmp_path, cfg):
    model = build_model(cfg, seed=0)
    history = fit(model, TRAIN, VAL, seed=0, **QUICK)
    path = save_checkpoint(tmp_path / "sub" / "model.pt", model, history)
    loaded, loaded_history = load_checkpoint(path)
    assert loaded.config == cfg and loaded_history == history and same_weights(model, loaded)
    assert not loaded.training
    torch.testing.assert_close(loaded.embed(VAL), model.embed(VAL))
    assert sorted(p.name for p in path.parent.iterdir()) == ["model.pt"]  # no temp files left
    save_checkpoint(tmp_path / "bare.pt", model)
    assert load_checkpoint(tmp_path / "bare.pt")[1] is None


def test_load_checkpoint_refuses_damaged_foreign_and_inconsistent_files(tmp_path):
    model = build_model(config(), seed=0)
    good = save_checkpoint(tmp_path / "good.pt", model, History())

    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(good.read_bytes()[:200])
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"definitely not a checkpoint")
    foreign = tmp_path / "foreign.pt"
    torch.save({"weights": torch.zeros(3)}, foreign)
    pickled = tmp_path / "pickled.pt"
    torch.save({"format": "aelib-checkpoint", "object": GaussianNoise(0.1)}, pickled)
    old = tmp_path / "old.pt"
    torch.save({"format": "aelib-checkpoint", "version": 0}, old)
    mismatched = tmp_path / "mismatched.pt"
    payload = torch.load(good, weights_only=True)
    payload["config"]["latent_dim"] = 5
    torch.save(payload, mismatched)

    for path, pattern in [(truncated, "not a readable checkpoint"),
                          (garbage, "not a readable checkpoint"),
                          (foreign, "not an aelib checkpoint"),
                          (pickled, "not a readable checkpoint"),
                          (old, "version"),
                          (mismatched, "does not match its weights")]:
        with pytest.raises(CheckpointError, match=pattern) as info:
            load_checkpoint(path)
        assert path.name in str(info.value)
    with pytest.raises(FileNotFoundError, match="missing.pt"):
        load_checkpoint(tmp_path / "missing.pt")


def test_save_checkpoint_refuses_bad_arguments(tmp_path):
    with pytest.raises(TypeError, match="model"):
        save_checkpoint(tmp_path / "x.pt", torch.nn.Linear(2, 2))
    with pytest.raises(TypeError, match="history"):
        save_checkpoint(tmp_path / "x.pt", build_model(config()), {"train_loss": []})


# --------------------------------------------------------------------------- cache


def test_train_or_load_trains_once_then_loads(tmp_path, monkeypatch):
    settings = {"epochs": 2, "batch_size": 32, "lr": 1e-2, "seed": 0, "cache_dir": tmp_path,
                "progress": False}
    model, history = train_or_load(config(), TRAIN, VAL, **settings)
    assert not model.training and history.epochs == 2
    (entry,) = tmp_path.glob("*.pt")   # beside it only its lock, .<name>.lock
    assert entry.name.startswith("vae-bernoulli-z2-") and entry.suffix == ".pt"

    reference = build_model(config(), seed=0)
    assert fit(reference, TRAIN, VAL, **{k: v for k, v in settings.items()
                                         if k != "cache_dir"}) == history
    assert same_weights(reference, model)

    def no_training(*args, **kwargs):
        raise AssertionError("train_or_load trained again instead of loading")

    monkeypatch.setattr(training, "fit", no_training)
    again, again_history = train_or_load(config(), TRAIN, VAL, **settings)
    assert again_history == history and same_weights(again, model)


def test_the_cache_key_covers_config_settings_seed_and_data():
    base = {"epochs": 2, "batch_size": 32, "lr": 1e-2, "schedule": "one_cycle", "seed": 0}
    key = cache_key(config(), TRAIN, VAL, **base)[0]
    variants = [
        cache_key(config(), TRAIN, VAL, **{**base, "schedule": "constant"}),
        cache_key(config(beta=2.0), TRAIN, VAL, **base),
        cache_key(config(), TRAIN, VAL, **{**base, "epochs": 3}),
        cache_key(config(), TRAIN, VAL, **{**base, "batch_size": 16}),
        cache_key(config(), TRAIN, VAL, **{**base, "lr": 2e-2}),
        cache_key(config(), TRAIN, VAL, **{**base, "seed": 1}),
        cache_key(config(), TRAIN, VAL, **base, corrupt=GaussianNoise(0.1)),
        cache_key(config(), dataset(96, seed=5), VAL, **base),
        cache_key(config(), TRAIN, None, **base),
    ]
    keys = {key} | {k for k, _ in variants}
    assert len(keys) == 1 + len(variants)
    assert cache_key(config(), TRAIN.clone(), VAL, **base)[0] == key
    assert data_fingerprint(TRAIN) != data_fingerprint(TRAIN.double())
    with pytest.raises(TypeError, match="x must be a torch.Tensor"):
        data_fingerprint(TRAIN.numpy())


def test_train_or_load_retrains_over_a_damaged_entry(tmp_path):
    settings = {"epochs": 1, "batch_size": 32, "seed": 0, "cache_dir": tmp_path,
                "progress": False}
    model, history = train_or_load(config(kind="ae"), TRAIN, **settings)
    (entry,) = tmp_path.glob("*.pt")   # beside it only its lock, .<name>.lock
    entry.write_bytes(entry.read_bytes()[:100])
    with pytest.warns(RuntimeWarning, match="damaged cache entry"):
        again, again_history = train_or_load(config(kind="ae"), TRAIN, **settings)
    assert again_history == history and same_weights(again, model)
    load_checkpoint(entry)  # rewritten whole


def test_train_or_load_uses_the_configured_cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("AELIB_CACHE_DIR", str(tmp_path / "cache"))
    train_or_load(config(kind="ae"), TRAIN, epochs=1, seed=0, progress=False,
                  corrupt=GaussianNoise(0.2))
    assert len(list((tmp_path / "cache").glob("ae-*.pt"))) == 1


@pytest.mark.parametrize(("kwargs", "error", "pattern"), [
    ({"config": config().to_dict()}, TypeError, "config must be a ModelConfig"),
    ({"corrupt": lambda x, g: x}, TypeError, "corrupt must be a GaussianNoise"),
    ({"epochs": 0}, ValueError, "epochs"),
    ({"seed": 1.5}, TypeError, "seed"),
    ({"train_x": torch.zeros(4, 3)}, ValueError, "train_x"),
])
def test_train_or_load_refuses_bad_arguments_by_name(tmp_path, kwargs, error, pattern):
    args = {"config": config(), "train_x": TRAIN, "epochs": 1, "cache_dir": tmp_path,
            "progress": False, **kwargs}
    with pytest.raises(error, match=pattern):
        train_or_load(args.pop("config"), args.pop("train_x"), **args)
    assert list(tmp_path.iterdir()) == []
