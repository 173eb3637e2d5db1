"""OA-Net (faslearn.models.oanet): attention as written, the zero-initialised cross-attention that makes a fresh
OA-Net the plain ViT, attention maps, the dual-branch network, loading torchvision ViT weights from a local file,
the cue's forms and the dataset that keeps an image and its cue aligned under augmentation (CPU, seconds)."""
import numpy as np
import pytest
import torch
from safetensors.torch import save_file
from torchvision.models import VisionTransformer

from faslearn.data import FlipShift, FrameDataset, make_benchmark
from faslearn.models import (
    DualBranch,
    OANet,
    ViT,
    create_model,
    load_clip_weights,
    load_pretrained_vit,
    load_vit_weights,
    model_entry,
)
from faslearn.models.dfg import CUE_FORMS, anomalous_cue, standardise, to_model_range
from faslearn.models.oanet import Attention

SMALL = dict(image_size=32, patch_size=8, width=32, depth=2, heads=2)


def batch(n=3, channels=6, size=32, seed=0):
    return torch.randn(n, channels, size, size, generator=torch.Generator().manual_seed(seed))


def test_attention_is_softmax_of_scaled_queries_times_keys_applied_to_values():
    torch.manual_seed(0)
    attention = Attention(16, heads=2, context_dim=8).eval()
    x, context = torch.randn(2, 5, 16), torch.randn(2, 7, 8)
    q = attention.q(x).view(2, 5, 2, 8).transpose(1, 2)
    k, v = attention.kv(context).split(16, dim=-1)
    k, v = (t.view(2, 7, 2, 8).transpose(1, 2) for t in (k, v))
    by_hand = torch.softmax(q @ k.transpose(-2, -1) / np.sqrt(8), dim=-1) @ v
    expected = attention.proj(by_hand.transpose(1, 2).reshape(2, 5, 16))
    torch.testing.assert_close(attention(x, context), expected, rtol=1e-5, atol=1e-6)
    attention.record = True
    torch.testing.assert_close(attention(x, context), expected, rtol=1e-5, atol=1e-6)
    assert attention.weights.shape == (2, 2, 5, 7)
    torch.testing.assert_close(attention.weights.sum(-1), torch.ones(2, 2, 5))


def test_a_fresh_oanet_computes_exactly_the_plain_vit_whatever_its_cue():
    torch.manual_seed(0)
    vit = ViT(**SMALL).eval()
    oanet = OANet(**SMALL, cue_dim=16).eval()
    missing, unexpected = oanet.vit.load_state_dict(vit.state_dict(), strict=False)
    assert not unexpected and all(".cross." in k or "norm_cue" in k or "norm_cross" in k for k in missing)
    x = batch()
    with torch.no_grad():
        plain = vit(x[:, :3])
        assert torch.equal(oanet(x), plain)
        assert torch.equal(oanet(torch.cat([x[:, :3], 10 * batch(seed=1)[:, 3:]], 1)), plain)
        for block in oanet.vit.blocks:  # once the cross-attention's output projection is not zero, the cue counts
            torch.nn.init.normal_(block.cross.proj.weight, std=0.1)
        assert not torch.allclose(oanet(x), plain)


def test_attention_maps_have_one_row_per_image_token_summing_to_one():
    oanet = OANet(**SMALL, cue_dim=16).eval()
    with pytest.raises(RuntimeError, match="record_attention"):
        oanet.attention_maps()
    oanet.record_attention(True)
    with torch.no_grad():
        oanet(batch(2))
    maps = oanet.attention_maps()
    tokens, cue_tokens = 1 + (32 // 8) ** 2, (32 // 8) ** 2  # CLS + 16 patches; the cue encoder's 4 × 4 grid
    assert [m.shape for m in maps["self"]] == [(2, 2, tokens, tokens)] * 2
    assert [m.shape for m in maps["cross"]] == [(2, 2, tokens, cue_tokens)] * 2
    torch.testing.assert_close(maps["cross"][0].sum(-1), torch.ones(2, 2, tokens))


def test_the_dual_branch_network_reads_the_image_and_the_cue_with_two_vits():
    torch.manual_seed(0)
    net = DualBranch(**SMALL).eval()
    x = batch()
    with torch.no_grad():
        out = net(x)
        features = torch.cat([net.image_branch.features(x[:, :3]), net.cue_branch.features(x[:, 3:])], 1)
    assert out.shape == (3,)
    torch.testing.assert_close(out, net.head(features).squeeze(1))
    with pytest.raises(ValueError, match=r"expected \(B, 6, S, S\)"):
        net(x[:, :3])


def test_models_that_read_a_cue_say_so_in_the_registry():
    assert model_entry("oanet").in_channels == 6 and model_entry("dual_branch").in_channels == 6
    assert model_entry("vit").in_channels == 3
    assert create_model("oanet", **SMALL, cue_dim=16)(batch(2)).shape == (2,)


def test_torchvision_vit_weights_load_from_a_local_file_and_compute_the_same(tmp_path):
    torch.manual_seed(0)
    reference = VisionTransformer(image_size=32, patch_size=8, num_layers=2, num_heads=2, hidden_dim=32,
                                  mlp_dim=64).eval()
    save_file(reference.state_dict(), tmp_path / "vit.safetensors")
    oanet = OANet(**SMALL, cue_dim=16, stem="patch").eval()  # torchvision's linear patch embedding
    load_vit_weights(oanet.vit, tmp_path / "vit.safetensors")
    x = batch(2)
    with torch.no_grad():
        tokens = reference._process_input(x[:, :3])
        tokens = torch.cat([reference.class_token.expand(2, -1, -1), tokens], dim=1)
        expected = reference.encoder(tokens)[:, 0]  # the final CLS token, after the encoder's LayerNorm
        torch.testing.assert_close(oanet.vit.features(x[:, :3], oanet.cue_encoder(x[:, 3:])), expected,
                                   rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match="does not fit this ViT"):
        load_vit_weights(ViT(image_size=32, patch_size=8, width=64, depth=2, heads=2, stem="patch"),
                         tmp_path / "vit.safetensors")
    with pytest.raises(FileNotFoundError, match="no safetensors ViT weights file"):
        load_vit_weights(oanet.vit, tmp_path / "missing.safetensors")


def clip_visual_state(width=32, layers=2, patch=16, image=32, seed=0):
    """A random state dict in OpenAI CLIP's visual-tower layout (the keys of ``clip.model.VisionTransformer``)."""
    g = torch.Generator().manual_seed(seed)

    def r(*shape, scale=0.2):
        return torch.randn(*shape, generator=g) * scale

    state = {"visual.conv1.weight": r(width, 3, patch, patch), "visual.class_embedding": r(width),
             "visual.positional_embedding": r((image // patch) ** 2 + 1, width),
             "visual.ln_pre.weight": 1 + r(width), "visual.ln_pre.bias": r(width),
             "visual.ln_post.weight": 1 + r(width), "visual.ln_post.bias": r(width), "visual.proj": r(width, 16)}
    for i in range(layers):
        block = f"visual.transformer.resblocks.{i}."
        state |= {block + "attn.in_proj_weight": r(3 * width, width), block + "attn.in_proj_bias": r(3 * width),
                  block + "attn.out_proj.weight": r(width, width), block + "attn.out_proj.bias": r(width),
                  block + "ln_1.weight": 1 + r(width), block + "ln_1.bias": r(width),
                  block + "ln_2.weight": 1 + r(width), block + "ln_2.bias": r(width),
                  block + "mlp.c_fc.weight": r(4 * width, width), block + "mlp.c_fc.bias": r(4 * width),
                  block + "mlp.c_proj.weight": r(width, 4 * width), block + "mlp.c_proj.bias": r(width)}
    state["transformer.resblocks.0.ln_1.weight"] = r(8)  # the text tower's keys are skipped
    return state


def clip_reference_cls(state, x, heads=2):
    """CLIP's visual forward written from its layout (conv1, class token, ln_pre, pre-LN blocks with QuickGELU,
    ln_post of the class token), independent of faslearn's ViT."""
    v = {k[len("visual."):]: t for k, t in state.items() if k.startswith("visual.")}
    width = v["class_embedding"].shape[0]
    mean = torch.tensor([0.48145466, 0.4578275, 0.40821073]).view(1, 3, 1, 1)  # OpenAI CLIP's, for images in [0, 1]
    std = torch.tensor([0.26862954, 0.26130258, 0.27577711]).view(1, 3, 1, 1)
    x = ((x + 1) / 2 - mean) / std  # faslearn's images are in [-1, 1]
    patch = v["conv1.weight"].shape[-1]
    tokens = torch.nn.functional.conv2d(x, v["conv1.weight"], stride=patch).flatten(2).transpose(1, 2)
    h = torch.cat([v["class_embedding"].expand(len(x), 1, -1), tokens], 1) + v["positional_embedding"]
    h = torch.nn.functional.layer_norm(h, (width,), v["ln_pre.weight"], v["ln_pre.bias"])  # eps 1e-5, as CLIP
    for i in range(sum(k.endswith("attn.in_proj_weight") for k in v)):
        b = f"transformer.resblocks.{i}."
        attention = torch.nn.MultiheadAttention(width, heads, batch_first=True)
        attention.load_state_dict({name: v[b + "attn." + name] for name in ("in_proj_weight", "in_proj_bias",
                                                                              "out_proj.weight", "out_proj.bias")})
        y = torch.nn.functional.layer_norm(h, (width,), v[b + "ln_1.weight"], v[b + "ln_1.bias"])
        h = h + attention(y, y, y, need_weights=False)[0]
        y = torch.nn.functional.layer_norm(h, (width,), v[b + "ln_2.weight"], v[b + "ln_2.bias"])
        y = torch.nn.functional.linear(y, v[b + "mlp.c_fc.weight"], v[b + "mlp.c_fc.bias"])
        y = y * torch.sigmoid(1.702 * y)  # QuickGELU
        y = torch.nn.functional.linear(y, v[b + "mlp.c_proj.weight"], v[b + "mlp.c_proj.bias"])
        h = h + y
    return torch.nn.functional.layer_norm(h[:, 0], (width,), v["ln_post.weight"], v["ln_post.bias"])


def test_clip_visual_weights_load_from_a_local_file_and_compute_clips_features(tmp_path):
    state = clip_visual_state()
    save_file(state, tmp_path / "clip.safetensors")
    vit = ViT(image_size=32, patch_size=16, width=32, depth=2, heads=2, mlp_ratio=4.0, stem="patch", style="clip")
    load_clip_weights(vit, tmp_path / "clip.safetensors")
    x = batch(3, channels=3)
    with torch.no_grad():
        torch.testing.assert_close(vit.eval().features(x), clip_reference_cls(state, x), rtol=1e-5, atol=1e-5)
    # the same tower without the "visual." prefix (a visual tower saved on its own) loads the same
    bare_state = {k[len("visual."):]: t for k, t in state.items() if k.startswith("visual.")}
    save_file(bare_state, tmp_path / "bare.safetensors")
    bare = ViT(image_size=32, patch_size=16, width=32, depth=2, heads=2, mlp_ratio=4.0, stem="patch", style="clip")
    load_pretrained_vit(bare, tmp_path / "bare.safetensors")
    with torch.no_grad():
        torch.testing.assert_close(bare.eval().features(x), vit.features(x), rtol=0, atol=0)
    with pytest.raises(ValueError, match="build the ViT with style='clip' and stem='patch'"):
        load_clip_weights(ViT(image_size=32, patch_size=16, width=32, depth=2, heads=2, stem="patch"),
                          tmp_path / "clip.safetensors")
    with pytest.raises(ValueError, match="does not fit this ViT"):
        load_clip_weights(ViT(image_size=32, patch_size=16, width=32, depth=1, heads=2, mlp_ratio=4.0, stem="patch",
                              style="clip"), tmp_path / "clip.safetensors")
    with pytest.raises(FileNotFoundError, match="no safetensors CLIP weights file"):
        load_clip_weights(vit, tmp_path / "missing.safetensors")


def test_the_full_size_oanet_is_the_papers_shape():
    net = OANet.full_size()
    vit = sum(p.numel() for p in net.vit.parameters() if True)
    cross = sum(p.numel() for b in net.vit.blocks for m in (b.cross, b.norm_cross, b.norm_cue) for p in m.parameters())
    assert len(net.vit.blocks) == 12 and net.vit.pos_embed.shape == (1, 197, 768)
    assert 85e6 < vit - cross < 87e6  # ViT-B/16: 86 M
    assert net.cue_encoder(torch.zeros(1, 3, 256, 256)).shape == (1, 64, 512)  # 8 × 8 tokens of 512, as AG-FAS


def test_the_cue_forms():
    images, reconstructions = batch(2, 3, seed=0).tanh(), batch(2, 3, seed=1).tanh()
    torch.testing.assert_close(anomalous_cue(images, reconstructions), standardise(images - reconstructions))
    opponent = anomalous_cue(images, reconstructions, "opponent")
    torch.testing.assert_close(opponent.mean(dim=(2, 3)), torch.zeros(2, 3), atol=1e-5, rtol=0)
    torch.testing.assert_close(opponent.std(dim=(2, 3)), torch.ones(2, 3), atol=1e-4, rtol=0)
    grey = images.mean(1, keepdim=True).expand(-1, 3, -1, -1)  # a residual without colour has no opponent part
    assert anomalous_cue(grey, torch.zeros_like(grey), "opponent")[:, 1:].abs().max() < 1e-3
    smooth = torch.linspace(-1, 1, 32).expand(2, 3, 32, 32)  # a residual with no fine detail: no fine cue left
    assert anomalous_cue(smooth, torch.zeros_like(smooth), "fine")[..., 4:-4, 4:-4].abs().max() < 1e-3
    energy = anomalous_cue(images, reconstructions, "energy")  # a log-energy map: phase and orientation are gone
    flipped = anomalous_cue(-images, -reconstructions, "energy")  # a residual of the other sign: the same energy
    torch.testing.assert_close(energy, flipped)
    assert energy.shape == images.shape and -2.01 < energy.min() and energy.max() < 3
    assert set(CUE_FORMS) == {"residual", "opponent", "fine", "energy"}
    with pytest.raises(ValueError, match="cue form must be one of"):
        anomalous_cue(images, reconstructions, "fourier")


@pytest.fixture(scope="module")
def bench():
    return make_benchmark(cache=False, progress=False, workers=1, identities_per_domain=3, domains=("studio",),
                          image_size=32)


def test_an_image_and_its_cue_are_flipped_and_shifted_together(bench):
    cue = to_model_range(bench.frames[:, 0]).numpy()  # the image itself as its "cue": aligned means equal
    dataset = FrameDataset(bench, np.arange(len(bench)), augment=FlipShift(max_cells=2), cue=cue,
                           inputs="image+cue")
    torch.manual_seed(0)
    moved = 0
    for i in range(len(dataset)):
        image = dataset[i]["image"]
        assert image.shape == (6, 32, 32)
        torch.testing.assert_close(image[:3], image[3:], rtol=0, atol=1e-2)  # the cue is stored in float16
        moved += not torch.allclose(image[:3], torch.from_numpy(cue[i]), atol=1e-2)
    assert moved > len(dataset) // 2  # the augmentation did move them: the check above is not trivially met


def test_a_dataset_reads_the_cue_alone_and_refuses_a_cue_of_the_wrong_shape(bench):
    cue = np.zeros((len(bench), 3, 32, 32), np.float16)
    assert torch.equal(FrameDataset(bench, [0], cue=cue, inputs="cue")[0]["image"], torch.zeros(3, 32, 32))
    with pytest.raises(ValueError, match=r"needs a cue of shape \(24, 3, 32, 32\)"):
        FrameDataset(bench, [0], cue=cue[:5], inputs="image+cue")
    with pytest.raises(ValueError, match="inputs must be one of"):
        FrameDataset(bench, [0], cue=cue, inputs="residual")


@pytest.mark.parametrize("name", ["vit", "oanet", "dual_branch"])
@pytest.mark.parametrize("settings, expected", [
    ({"width": 0.25}, "width (of a ViT) must be a whole number >= 1, got 0.25"),
    ({"depth": 0}, "depth (of a ViT) must be a whole number >= 1, got 0"),
    ({"width": 30, "heads": 4}, "width 30 is not divisible by 4 heads"),
    ({"patch_size": 7}, "image_size 64 is not a multiple of patch_size 7"),
])
def test_a_transformer_refuses_settings_it_cannot_build_in_one_line(name, settings, expected):
    with pytest.raises(ValueError) as error:
        create_model(name, **settings)
    assert str(error.value) == expected


def test_a_subsets_reconstruction_reproduces_the_whole_benchmarks_rows(bench):
    from test_dfg import tiny_dfg

    from faslearn.models.dfg import benchmark_reconstructions

    dfg = tiny_dfg()
    every = benchmark_reconstructions(dfg, bench, strength=0.5, steps=4, cache=False, progress=False)
    rows = np.array([3, 7, 11])
    some = dfg.reconstruct(to_model_range(bench.frames[rows, 0]), strength=0.5, steps=4, noise_index=rows)
    np.testing.assert_allclose(some.numpy().astype(np.float16), every[rows], atol=2e-3)
