"""core.metrics against closed forms."""
import math

import numpy as np
import torch

from core import metrics


def test_frechet_distance_of_a_set_with_itself_is_zero():
    f = torch.randn(500, 8, generator=torch.Generator().manual_seed(0))
    assert abs(metrics.frechet_distance(f, f)) < 1e-8


def test_frechet_distance_matches_closed_form_for_diagonal_gaussians():
    # For N(m1, diag(a)) and N(m2, diag(b)): |m1 - m2|^2 + sum (sqrt(a) - sqrt(b))^2.
    g = torch.Generator().manual_seed(1)
    n, a, b = 200_000, torch.tensor([1.0, 4.0, 9.0]), torch.tensor([4.0, 1.0, 9.0])
    m1, m2 = torch.tensor([0.0, 1.0, 2.0]), torch.tensor([1.0, 1.0, 0.0])
    f1 = m1 + a.sqrt() * torch.randn(n, 3, generator=g)
    f2 = m2 + b.sqrt() * torch.randn(n, 3, generator=g)
    expected = ((m1 - m2) ** 2).sum() + ((a.sqrt() - b.sqrt()) ** 2).sum()
    assert math.isclose(metrics.frechet_distance(f1, f2), expected.item(), rel_tol=0.02)


def test_frechet_distance_with_full_covariances_that_do_not_commute():
    # tr((S1 S2)^(1/2)) differs from tr(S1^(1/2) S2^(1/2)) unless S1 and S2 commute; check against the
    # eigenvalues of S1 S2 themselves, with numpy's sample covariance (ddof = 1) computed independently.
    g = torch.Generator().manual_seed(2)
    f1 = torch.randn(300, 4, generator=g, dtype=torch.float64) @ torch.randn(4, 4, generator=g, dtype=torch.float64)
    f2 = torch.randn(400, 4, generator=g, dtype=torch.float64) @ torch.randn(4, 4, generator=g, dtype=torch.float64) + 1
    s1, s2 = (torch.from_numpy(np.cov(f.numpy(), rowvar=False)) for f in (f1, f2))
    assert not torch.allclose(s1 @ s2, s2 @ s1)
    cross = torch.linalg.eigvals(s1 @ s2).real.clamp(min=0).sqrt().sum()
    naive_cross = (metrics._sqrt_psd(s1) @ metrics._sqrt_psd(s2)).trace()  # the classic mistake
    assert not math.isclose(cross, naive_cross, rel_tol=1e-3)  # so this case tells the two apart
    expected = ((f1.mean(0) - f2.mean(0)) ** 2).sum() + s1.trace() + s2.trace() - 2 * cross
    assert math.isclose(metrics.frechet_distance(f1, f2), expected.item(), rel_tol=1e-9)


def test_vae_terms_kl_closed_form():
    x = torch.full((2, 1, 2, 2), 0.5)
    mu = torch.tensor([[0.0, 0.0], [1.0, -2.0]])
    logvar = torch.tensor([[0.0, 0.0], [math.log(4.0), 0.0]])
    terms = metrics.vae_terms(x.clone(), x, mu, logvar)
    # KL(N(mu, s^2) || N(0, 1)) = 0.5 (mu^2 + s^2 - 1 - log s^2), summed over dimensions.
    expected_kl = torch.tensor([0.0, 0.5 * (1 + 4 - 1 - math.log(4.0)) + 0.5 * 4])
    assert torch.allclose(terms["kl"], expected_kl)
    # Bernoulli NLL of p = 0.5 at target 0.5 is log 2 per pixel, 4 pixels.
    assert torch.allclose(terms["nll"], torch.full((2,), 4 * math.log(2.0)))
    assert torch.allclose(terms["neg_elbo"], terms["nll"] + terms["kl"])


def test_class_agreement_counts_matches():
    class Fixed(torch.nn.Module):
        def forward(self, x):
            return torch.nn.functional.one_hot(x.flatten(1)[:, 0].long(), 10).float()
    images = torch.tensor([0.0, 1.0, 2.0, 3.0]).view(4, 1, 1, 1)
    assert metrics.class_agreement(Fixed(), images, torch.tensor([0, 1, 5, 3])) == 0.75


def test_wilson_interval_known_values():
    lo, hi = metrics.wilson_interval(0.5, 100)  # 50 of 100: the textbook 0.4038 .. 0.5962
    assert math.isclose(lo, 0.4038, abs_tol=1e-4) and math.isclose(hi, 0.5962, abs_tol=1e-4)
    lo, hi = metrics.wilson_interval(1.0, 20)  # never past 1, unlike the normal approximation
    assert hi <= 1.0 and math.isclose(lo, 0.8389, abs_tol=1e-4)
