import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from _threads import one_thread  # noqa: F401  (autouse: one thread per test)

from faslearn import metrics
from faslearn.data import load_faces
from faslearn.models.identity import ArcFaceLoss, IdentityEncoder, augment, embed, train_identity_encoder, verification
from faslearn.utils import seed_everything


@pytest.mark.parametrize("size", [32, 64])
def test_tokens_and_embedding_shapes(size):
    torch.manual_seed(0)
    encoder = IdentityEncoder(width=8, embedding_dim=24, token_dim=12)
    images = torch.rand(3, 3, size, size) * 2 - 1
    tokens, embedding = encoder.features(images)
    assert tokens.shape == (3, (size // 16) ** 2, 12)
    assert embedding.shape == (3, 24)
    torch.testing.assert_close(embedding.norm(dim=1), torch.ones(3))
    # (not a batch of identical images: in training mode BatchNorm maps it to exact zeros, whose
    # norm is 0 or 1 depending on the CPU's rounding)
    torch.testing.assert_close(encoder(images), embedding)
    assert encoder.num_tokens == 16


def test_tokens_are_the_projected_map_flattened_row_major():
    torch.manual_seed(0)
    encoder = IdentityEncoder(width=8, token_dim=12).eval()
    images = torch.rand(2, 3, 64, 64) * 2 - 1
    feature = encoder.to_tokens(encoder.stages(encoder.stem(images)))  # (2, 12, 4, 4)
    tokens, _ = encoder.features(images)
    torch.testing.assert_close(tokens[:, 4 * 2 + 3], feature[:, :, 2, 3])  # row 2, column 3


def test_default_encoder_is_small():
    assert sum(p.numel() for p in IdentityEncoder().parameters()) < 1_000_000


@pytest.mark.parametrize("shape", [(2, 3, 64, 48), (2, 1, 64, 64), (2, 3, 40, 40), (3, 64, 64)])
def test_forward_rejects_other_shapes(shape):
    with pytest.raises(ValueError, match="expected faces|multiple of 16"):
        IdentityEncoder(width=8)(torch.zeros(shape))


def test_arcface_without_margin_is_cross_entropy_of_scaled_cosines():
    torch.manual_seed(0)
    head = ArcFaceLoss(8, 5, scale=10.0, margin=0.0)
    x, y = torch.randn(6, 8), torch.tensor([0, 1, 2, 3, 4, 0])
    cos = (x / x.norm(dim=1, keepdim=True)) @ (head.weight / head.weight.norm(dim=1, keepdim=True)).T
    by_hand = torch.mean(torch.logsumexp(10 * cos, dim=1) - 10 * cos[torch.arange(6), y])
    torch.testing.assert_close(head(x, y), by_hand)


def test_arcface_margin_adds_to_the_true_class_angle():
    torch.manual_seed(0)
    head = ArcFaceLoss(8, 5, scale=10.0, margin=0.3)
    plain = ArcFaceLoss(8, 5, scale=10.0, margin=0.0)
    plain.load_state_dict(head.state_dict())
    x, y = torch.randn(6, 8), torch.tensor([0, 1, 2, 3, 4, 0])
    assert head(x, y) > plain(x, y) + 0.1
    cos = plain.logits(x, y) / 10
    theta = torch.arccos(cos[torch.arange(6), y])
    expected = cos.clone()
    expected[torch.arange(6), y] = torch.where(theta + 0.3 < math.pi, torch.cos(theta + 0.3),
                                               cos[torch.arange(6), y] - 0.3 * math.sin(0.3))
    torch.testing.assert_close(head.logits(x, y), 10 * expected)


def test_arcface_beyond_pi_falls_back_to_a_linear_penalty():
    head = ArcFaceLoss(4, 3, scale=2.0, margin=0.5)
    x = -head.weight[1:2].detach()  # θ = π from its centre, where cos(θ + m) would rise again
    logit = head.logits(x, torch.tensor([1]))[0, 1]
    torch.testing.assert_close(logit, torch.tensor(2.0 * (-1 - 0.5 * math.sin(0.5))), atol=1e-5, rtol=0)
    assert torch.isfinite(torch.autograd.grad(head(x.requires_grad_(), torch.tensor([1])), x)[0]).all()


def test_verification_of_perfect_embeddings():
    rng = np.random.default_rng(0)
    identity = np.repeat(np.arange(10), 3)
    embeddings = rng.standard_normal((10, 16))[identity]  # every view of a person embeds alike
    result = verification(torch.from_numpy(embeddings), identity)
    assert result["auc"] == 1 and result["eer"] == 0 and result["accuracy"] == 1
    assert result["tar_at_far_0.01"] == 1 and result["tar_at_far_0.001"] == 1
    assert result["genuine_pairs"] == 10 * 3 and result["impostor_pairs"] == 30 * 29 // 2 - 30


def test_verification_of_random_embeddings_is_chance_and_agrees_with_faslearn_metrics():
    rng = np.random.default_rng(0)
    embeddings, identity = rng.standard_normal((300, 16)), np.repeat(np.arange(30), 10)
    result = verification(embeddings, identity, far=(0.1,))
    assert abs(result["auc"] - 0.5) < 0.05 and abs(result["eer"] - 0.5) < 0.05
    assert result["accuracy"] < 0.56 and result["tar_at_far_0.1"] < 0.2
    unit = embeddings / np.linalg.norm(embeddings, axis=1, keepdims=True)
    i, j = np.triu_indices(300, 1)
    scores, genuine = np.sum(unit[i] * unit[j], axis=1), (identity[i] == identity[j]).astype(int)
    assert result["auc"] == pytest.approx(metrics.auc(scores, genuine))
    assert result["eer"] == pytest.approx(metrics.eer(scores, genuine)[0], abs=1e-3)
    assert result["tar_at_far_0.1"] == pytest.approx(metrics.tpr_at_fpr(scores, genuine, 0.1))


def test_verification_needs_genuine_and_impostor_pairs():
    with pytest.raises(ValueError, match="genuine pairs"):
        verification(np.eye(4), [0, 1, 2, 3])
    with pytest.raises(ValueError, match="identity"):
        verification(np.eye(4), [0, 0, 1])


def test_augment_is_a_function_of_the_generator():
    images = np.random.default_rng(0).integers(0, 256, (5, 32, 32, 3), dtype=np.uint8)
    a, b = (augment(images, np.random.default_rng(7)) for _ in range(2))
    assert a.shape == (5, 3, 32, 32) and a.dtype == torch.float32
    assert a.min() >= -1 and a.max() <= 1
    torch.testing.assert_close(a, b)
    assert not torch.equal(a, augment(images, np.random.default_rng(8)))


@pytest.mark.parametrize("images, identity, message", [
    (np.zeros((4, 32, 32, 3), np.float32), np.arange(4), "uint8"),
    (np.zeros((4, 32, 32, 1), np.uint8), np.arange(4), "uint8"),
    (np.zeros((4, 32, 16, 3), np.uint8), np.arange(4), "uint8"),
    (np.zeros((4, 32, 32, 3), np.uint8), np.arange(3), "one integer per image"),
    (np.zeros((4, 32, 32, 3), np.uint8), np.zeros(4), "one integer per image"),
    (np.zeros((4, 32, 32, 3), np.uint8), np.zeros(4, int), "two identities"),
])
def test_training_rejects_bad_input(images, identity, message):
    with pytest.raises(ValueError, match=message):
        train_identity_encoder(images, identity, steps=1, progress=False)


def _views(count=8, views=6, seed=0):
    """``views`` noisy, shifted, re-lit copies of each of ``count`` synthetic 32-px faces."""
    rng = np.random.default_rng(seed)
    faces = load_faces("synthetic", size=32, count=count).images.astype(np.float32)
    images, identity = [], []
    for person, face in enumerate(faces):
        for _ in range(views):
            view = np.roll(face, tuple(rng.integers(-2, 3, 2)), axis=(0, 1))
            view = view * rng.uniform(0.7, 1.3) + rng.uniform(-30, 30) + rng.normal(0, 20, view.shape)
            images.append(view.clip(0, 255).astype(np.uint8))
            identity.append(100 + 7 * person)  # face indices, not 0..K-1
    return np.stack(images), np.array(identity)


def test_training_is_reproducible():
    images, identity = _views(count=3, views=2)
    a, b = (train_identity_encoder(images, identity, steps=3, batch_size=8, width=8, progress=False)
            for _ in range(2))
    assert not a.training and a.train_loss == b.train_loss
    for (name, x), y in zip(a.state_dict().items(), b.state_dict().values()):
        torch.testing.assert_close(x, y, msg=name)


@pytest.mark.slow
def test_training_separates_identities():
    images, identity = _views()
    seed_everything(0)
    untrained = IdentityEncoder(width=16).eval()
    encoder = train_identity_encoder(images, identity, steps=60, batch_size=32, width=16, lr=3e-3, progress=False)
    assert np.mean(encoder.train_loss[-10:]) < np.mean(encoder.train_loss[:10]) - 1
    before = verification(embed(untrained, images), identity)["auc"]
    after = verification(embed(encoder, images), identity)["auc"]
    assert after > before + 0.15 and after > 0.9, (before, after)


def test_an_arcface_from_a_local_onnx_file_gives_one_unit_norm_token(tmp_path):
    from _onnx_face import write_tiny_face_onnx

    from faslearn.models.identity import OnnxIdentityEncoder

    net = write_tiny_face_onnx(tmp_path / "arcface.onnx", size=32, dim=16)
    encoder = OnnxIdentityEncoder(tmp_path / "arcface.onnx")
    assert (encoder.input_size, encoder.token_dim, encoder.num_tokens) == ((32, 32), 16, 1)
    images = torch.rand(3, 3, 64, 64) * 2 - 1  # the course's 64 px faces, resized to the file's 32 px
    tokens, embedding = encoder.features(images)
    with torch.no_grad():
        expected = F.normalize(net(F.interpolate(images, size=(32, 32), mode="bilinear", antialias=True)), dim=1)
    torch.testing.assert_close(embedding, expected, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(tokens[:, 0], embedding)
    bgr = OnnxIdentityEncoder(tmp_path / "arcface.onnx", bgr=True).features(images)[1]
    with torch.no_grad():
        flipped = F.normalize(net(F.interpolate(images.flip(1), size=(32, 32), mode="bilinear", antialias=True)), dim=1)
    torch.testing.assert_close(bgr, flipped, atol=1e-5, rtol=1e-4)
    faces = (np.random.default_rng(0).random((5, 64, 64, 3)) * 255).astype(np.uint8)
    assert embed(encoder, faces).shape == (5, 16)  # no parameters of its own: embed still runs it

    with pytest.raises(FileNotFoundError, match="expected a .onnx file"):
        OnnxIdentityEncoder(tmp_path / "missing.onnx")
    flat = torch.onnx.export(torch.nn.Linear(4, 2).eval(), (torch.zeros(1, 4),), dynamo=True, verbose=False)
    flat.save(str(tmp_path / "flat.onnx"))
    with pytest.raises(ValueError, match=r"expected one input of shape \(N, 3, H, W\)"):
        OnnxIdentityEncoder(tmp_path / "flat.onnx")
