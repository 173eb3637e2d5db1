"""Domain generalisation (faslearn.models.dg, the SSDG and domain-adversarial objectives in faslearn.losses)."""
import math

import numpy as np
import pytest
import torch

from faslearn.checkpoints import load_weights, save_checkpoint
from faslearn.losses import DANN, SSDG, asymmetric_triplet_loss, dann_objective, ssdg_objective
from faslearn.models import create_model, model_entry
from faslearn.models.dg import (
    DomainGeneralised,
    grl_weight,
    make_objective,
    network_name,
    normalise_features,
    reverse_gradient,
)

SMALL_VIT = dict(width=32, depth=1, heads=2)


def test_the_gradient_reversal_layer_is_the_identity_forward_and_negates_the_scaled_gradient_backward():
    x = torch.randn(4, 3, requires_grad=True)
    y = reverse_gradient(x, 0.25)
    assert torch.equal(y, x)
    (y * torch.arange(3.0)).sum().backward()
    torch.testing.assert_close(x.grad, -0.25 * torch.arange(3.0).expand(4, 3))


def test_the_ramp_starts_at_zero_reaches_one_and_is_dann_s_formula_between():
    assert grl_weight(0.0) == 0.0 and grl_weight(1.0) == pytest.approx(1.0, abs=1e-4)
    assert grl_weight(0.3) == pytest.approx(2 / (1 + math.exp(-3)) - 1)
    assert grl_weight(-1) == 0.0 and grl_weight(2) == grl_weight(1)  # clipped to [0, 1]


def test_ssdg_normalisation_gives_the_square_root_of_the_norm_over_root_two():
    f = torch.tensor([[3.0, 4.0], [0.0, 16.0]])
    torch.testing.assert_close(normalise_features(f).norm(dim=1), torch.tensor([5.0, 16.0]).sqrt() / math.sqrt(2))


def test_the_asymmetric_triplet_loss_groups_bona_fide_of_every_domain_and_splits_attacks_by_domain():
    # bona fide of domains 0 and 1 at the origin; domain 0's attacks far; domain 1's attacks far the other way
    f = torch.tensor([[0.0, 0.0], [0.0, 0.0], [5.0, 0.0], [-5.0, 0.0]])
    label, domain = torch.tensor([1, 1, 0, 0]), torch.tensor([0, 1, 0, 1])
    assert asymmetric_triplet_loss(f, label, domain).item() == 0.0  # every triplet already satisfied
    # move one bona fide face next to domain 0's attacks: exactly the triplets it breaks count
    f_bad = torch.tensor([[0.0, 0.0], [4.95, 0.0], [5.0, 0.0], [-5.0, 0.0]])
    loss = asymmetric_triplet_loss(f_bad, label, domain, margin=0.1)
    # anchor 1, positive 0 (distance 4.95), negative 2 (0.05): 4.95 - 0.05 + 0.1 = 5.0;
    # anchor 0, positive 1 (4.95), negative 2 (5) → 0.05; negative 3 (5): 0.05; anchor 1, negative 3 (9.95) → 0;
    # anchor 2 has no positive (the only attack of domain 0), nor has 3
    assert loss.item() == pytest.approx((5.0 + 0.05 + 0.05) / 3)
    # labelled as one attack class, the two attacks would be positives of each other: the loss changes
    same = asymmetric_triplet_loss(f, label, torch.tensor([0, 1, 0, 0]))
    assert same.item() > 0


@pytest.mark.parametrize("backbone", ["resnet18", "vit", "oanet"])
@pytest.mark.parametrize("objective", ["ssdg", "dann"])
def test_every_backbone_wrapped_trains_with_its_objective_and_scores_like_a_binary_detector(backbone, objective):
    name = f"{objective}_{backbone}"
    entry = model_entry(name)
    settings = {k: v for k, v in {**SMALL_VIT, "cue_dim": 8, "total_steps": 4}.items() if k in entry.settings}
    torch.manual_seed(0)
    model = create_model(name, **settings).train()
    x = torch.rand(4, entry.in_channels, 64, 64) * 2 - 1
    batch = {"label": torch.tensor([1, 0, 1, 0]), "domain_index": torch.tensor([0, 0, 1, 2])}
    out = model(x)
    assert out["logit"].shape == (4,) and out["domain_logit"].shape == (4, 4) and out["grl_weight"] == 0.0
    loss = entry.objective.loss(out, batch)
    loss.backward()
    assert torch.isfinite(loss) and model.discriminator[0].weight.grad is not None
    assert int(model.step) == 1 and model(x)["grl_weight"] == pytest.approx(grl_weight(0.25))
    model.eval()
    with torch.no_grad():
        logit = model(x)
    assert logit.shape == (4,) and torch.equal(entry.objective.score(logit, batch), logit)


def test_ssdg_s_discriminator_sees_only_the_bona_fide_faces_and_dann_s_sees_every_face():
    out = {"logit": torch.zeros(4), "feature": torch.randn(4, 3),
           "domain_logit": torch.zeros(4, 3, requires_grad=True)}
    batch = {"label": torch.tensor([1, 0, 1, 0]), "domain_index": torch.tensor([0, 0, 1, 2])}
    SSDG.loss(out, batch).backward()
    touched = out["domain_logit"].grad.abs().sum(dim=1) > 0
    assert touched.tolist() == [True, False, True, False]
    out["domain_logit"].grad = None
    DANN.loss(out, batch).backward()
    assert (out["domain_logit"].grad.abs().sum(dim=1) > 0).all()


def test_the_weights_of_the_objectives_are_what_they_say():
    out = {"logit": torch.zeros(4), "feature": torch.tensor([[0.0, 0.0], [4.95, 0.0], [5.0, 0.0], [-5.0, 0.0]]),
           "domain_logit": torch.zeros(4, 3)}
    batch = {"label": torch.tensor([1, 1, 0, 0]), "domain_index": torch.tensor([0, 1, 0, 1])}
    ce, domain_ce = math.log(2), math.log(3)  # logits 0: both cross-entropies at chance
    triplet = asymmetric_triplet_loss(out["feature"], batch["label"], batch["domain_index"]).item()
    assert ssdg_objective(2.0, 0.1).loss(out, batch).item() == pytest.approx(ce + 2 * triplet + 0.1 * domain_ce)
    assert ssdg_objective(0.0, 0.0).loss(out, batch).item() == pytest.approx(ce)
    assert dann_objective(0.5).loss(out, batch).item() == pytest.approx(ce + 0.5 * domain_ce)
    # evaluation mode (a bare logit): the classification loss alone
    assert SSDG.loss(torch.zeros(4), batch).item() == pytest.approx(ce)


def test_the_ssdg_classifier_is_normalised_and_its_logit_is_the_softmax_s_difference():
    torch.manual_seed(0)
    model = DomainGeneralised(create_model("vit", **SMALL_VIT), logit_scale=4.0).eval()
    f = torch.randn(3, 512)
    w = torch.nn.functional.normalize(model.classifier.weight, dim=1)
    two = 4.0 * f @ w.T + model.classifier.bias
    torch.testing.assert_close(model.logit(f), two[:, 1] - two[:, 0])
    torch.testing.assert_close(torch.sigmoid(model.logit(f)), two.softmax(dim=1)[:, 1])
    model.classifier.weight.data *= 7  # the weights' norm does not matter
    torch.testing.assert_close(model.logit(f), two[:, 1] - two[:, 0])


def test_the_ramp_resumes_from_a_checkpoint(tmp_path):
    torch.manual_seed(0)
    model = create_model("ssdg_vit", **SMALL_VIT, total_steps=10).train()
    x = torch.rand(2, 3, 64, 64)
    for _ in range(3):
        model(x)
    save_checkpoint(tmp_path / "model.safetensors", model)
    other = create_model("ssdg_vit", **SMALL_VIT, total_steps=10)
    load_weights(other, tmp_path / "model.safetensors")
    assert int(other.step) == 3 and other.train()(x)["grl_weight"] == pytest.approx(grl_weight(0.3))


def test_network_names_and_refusals_are_one_line():
    assert network_name("only_image") == "vit" and network_name("oanet", "ssdg") == "ssdg_oanet"
    assert network_name("resnet18", "dann") == "dann_resnet18" and network_name("only_residual", "ssdg") == "ssdg_vit"
    with pytest.raises(ValueError, match=r"^objective must be one of \['erm', 'ssdg', 'dann'\], got 'ssgd'$"):
        network_name("oanet", "ssgd")
    with pytest.raises(ValueError, match=r"^objective 'ssdg' wraps one of the backbones .* variant 'dual_branch'"):
        network_name("dual_branch", "ssdg")
    with pytest.raises(ValueError, match=r"^variant must be one of"):
        network_name("vit")
    with pytest.raises(ValueError, match="lambda_triplet must be"):
        make_objective("ssdg", "ssdg_vit", lambda_triplet=-1)
    with pytest.raises(ValueError, match="has no last linear layer"):
        DomainGeneralised(torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3)))
    with pytest.raises(ValueError, match="logit_scale scales a normalised classifier's logit"):
        DomainGeneralised(create_model("vit", **SMALL_VIT), normalise=False, logit_scale=4.0)


def test_limited_sources_train_on_those_domains_only_and_test_on_the_same_target_faces():
    from faslearn.data import make_benchmark

    bench = make_benchmark(identities_per_domain=5, progress=False)
    every = bench.protocol("leave_one_out", "night")
    two = bench.protocol("leave_one_out", "night", ["studio", "office"])
    assert set(bench.domain[two["train"]]) == set(bench.domain[two["dev"]]) == {"studio", "office"}
    assert set(bench.domain[every["train"]]) == {"studio", "office", "outdoor"}
    assert list(two["test"]) == list(every["test"]) and list(two["unseen"]) == list(every["unseen"])
    for sources, message in ((["night"], "other than the target 'night'"), (["moon"], "sources must be distinct"),
                             (["studio", "studio"], "sources must be distinct"), ([], "sources must be distinct")):
        with pytest.raises(ValueError, match=message):
            bench.protocol("leave_one_out", "night", sources)
    with pytest.raises(ValueError, match="sources limit the training domains of leave_one_out, not of 'intra'"):
        bench.protocol("intra", "night", ["studio"])


def test_pool_faces_join_a_training_set_as_bona_fide_of_their_own_domain_balanced_as_ag_fas_table_iii():
    from types import SimpleNamespace

    from faslearn.data import PoolDataset, balanced_weights

    class Pool(SimpleNamespace):
        def __len__(self):
            return len(self.images)

    items = PoolDataset(Pool(images=np.zeros((3, 8, 8, 3), np.uint8), identity=np.array([7, 7, 9])), domain_index=4,
                        map_size=2)
    item = items[2]
    assert len(items) == 3 and item["label"] == 1 and item["domain_index"] == 4 and item["identity"] == 9
    assert item["image"].shape == (3, 8, 8) and item["depth"].shape == (1, 2, 2) and item["pai"] == "bona_fide"
    labels = np.array([1, 0, 0, 0, 1, 0])  # 2 bona fide, 4 attacks, then 3 pool faces
    weights = balanced_weights(labels, 3).numpy()
    assert weights.sum() == pytest.approx(1.0)
    assert weights[:6][labels == 0].sum() == pytest.approx(0.5)  # attacks : bona fide 1 : 1
    assert weights[:6][labels == 1].sum() == pytest.approx(0.25) and weights[6:].sum() == pytest.approx(0.25)
    with pytest.raises(ValueError, match="balancing needs attacks, bona fide faces and extra faces"):
        balanced_weights(np.array([1, 1]), 3)
