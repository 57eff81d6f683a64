"""The GPT proxy model: named sizes, causality, rotary embeddings, attention paths, checkpoint round trip."""
import pytest
import torch

from train.model import GPT, SHAPES, apply_rotary, model_config, rotary_tables
from train.trainer import TrainConfig, load_checkpoint, lr_at, save_checkpoint

torch.set_num_threads(1)


@pytest.mark.parametrize("name,non_embedding", [("1m", 1.0e6), ("5m", 5e6), ("20m", 20e6), ("50m", 50e6),
                                                ("100m", 100e6)])
def test_named_configs_have_the_size_in_their_name(name, non_embedding):
    with torch.device("meta"):
        model = GPT(model_config(name, vocab_size=32768, seq_len=512))
    assert model.num_params(embedding=False) == pytest.approx(non_embedding, rel=0.05)
    # tied embeddings: the only embedding-sized parameter is the input embedding
    assert model.num_params() - model.num_params(embedding=False) == 32768 * SHAPES[name]["d_model"]


def test_unknown_config_name_is_refused():
    with pytest.raises(ValueError, match="unknown model config"):
        model_config("7b", 100, 16)


def test_predictions_do_not_see_the_future():
    torch.manual_seed(0)
    model = GPT(model_config("tiny", vocab_size=50, seq_len=16)).eval()
    idx = torch.randint(0, 50, (2, 16))
    changed = idx.clone()
    changed[:, 10] = (changed[:, 10] + 1) % 50
    with torch.no_grad():
        a, b = model(idx), model(changed)
    assert torch.equal(a[:, :10], b[:, :10])
    assert not torch.allclose(a[:, 10:], b[:, 10:])


def test_rotary_scores_depend_only_on_relative_position():
    cos, sin = rotary_tables(seq_len=32, head_dim=8, base=10000.0)
    q, k = torch.randn(8), torch.randn(8)

    def score(i, j):
        return (apply_rotary(q, cos[i], sin[i]) @ apply_rotary(k, cos[j], sin[j])).item()

    assert score(5, 2) == pytest.approx(score(20, 17), abs=1e-5)
    assert score(5, 2) != pytest.approx(score(5, 3), abs=1e-3)


def test_matmul_attention_equals_sdpa():
    torch.manual_seed(0)
    matmul = GPT(model_config("tiny", vocab_size=50, seq_len=16, attention="matmul"))
    sdpa = GPT(model_config("tiny", vocab_size=50, seq_len=16, attention="sdpa"))
    sdpa.load_state_dict(matmul.state_dict())
    idx = torch.randint(0, 50, (3, 16))
    with torch.no_grad():
        torch.testing.assert_close(matmul(idx), sdpa(idx), rtol=1e-5, atol=1e-5)


def test_initial_loss_is_near_uniform():
    torch.manual_seed(0)
    model = GPT(model_config("tiny", vocab_size=512, seq_len=32))
    with torch.no_grad():
        loss = model.loss(torch.randint(0, 512, (4, 33))).item()
    assert loss == pytest.approx(torch.log(torch.tensor(512.0)).item(), abs=0.1)


def test_checkpoint_round_trip(tmp_path):
    torch.manual_seed(0)
    model = GPT(model_config("tiny", vocab_size=300, seq_len=24))
    path = str(tmp_path / "ckpt" / "model.safetensors")
    save_checkpoint(model.state_dict(), model.cfg, path)
    loaded = load_checkpoint(path)
    assert loaded.cfg == model.cfg
    idx = torch.randint(0, 300, (2, 24))
    with torch.no_grad():
        assert torch.equal(model(idx), loaded(idx))


def test_untied_model_has_its_own_output_layer_and_round_trips(tmp_path):
    torch.manual_seed(0)
    tied = GPT(model_config("tiny", vocab_size=300, seq_len=24))
    untied = GPT(model_config("tiny", vocab_size=300, seq_len=24, tie_embeddings=False))
    assert untied.num_params() == tied.num_params() + 300 * tied.cfg.d_model
    assert untied.output_weight is untied.lm_head.weight and tied.output_weight is tied.tok_emb.weight
    path = str(tmp_path / "untied.safetensors")
    save_checkpoint(untied.state_dict(), untied.cfg, path)
    loaded = load_checkpoint(path)
    assert loaded.cfg == untied.cfg and not loaded.cfg.tie_embeddings
    idx = torch.randint(0, 300, (2, 24))
    with torch.no_grad():
        assert torch.equal(untied(idx), loaded(idx))


def test_schedule_warms_up_then_decays_to_the_floor():
    cfg = TrainConfig(lr=1e-3, warmup_frac=0.1, min_lr_ratio=0.1)
    lrs = [lr_at(step, 100, cfg) for step in range(100)]
    assert lrs[0] == pytest.approx(1e-4)
    assert max(lrs) == pytest.approx(1e-3) and lrs.index(max(lrs)) == 9
    assert all(a >= b for a, b in zip(lrs[9:], lrs[10:]))
    assert lrs[-1] == pytest.approx(1e-4, rel=0.01)
