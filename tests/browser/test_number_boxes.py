"""Every number box of every tab in Chromium (each gr.Number, and the box beside each gr.Slider's track): type -1,
99999 and a non-number, press Enter, and the box names itself in a warning with its range and the value used,
shows that value, and leaves the rest of its section working. Gradio's own check would instead refuse the event
with "Value -1 is less than minimum value 0." (no box named) and break every later event that reads the box."""
import re
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from core.attention import image as ia
from core.convolution import conv, vision_models
from core.data import CLASSES, load_sample
from core.gan import dcgan, toy
from tests.browser.test_cnn import open_gallery
from tests.browser.test_convolution import KERNEL, NETWORK, choose, wait_for_text

LAST_SAMPLE = len(load_sample("test")) - 1
CNN = vision_models.load("cnn")
CNN_CHANNELS = CNN.layer(CNN.default_layer).shape[0]
VIT_LAYERS = ia.load("vit").module.num_layers
TYPED = ("-1", "99999", "abc")  # Chromium keeps no letters in a number box: the box then holds no number
GENERIC = re.compile(r"Value .* is (less|greater) than (minimum|maximum)")


@dataclass(frozen=True)
class NumberBox:
    elem_id: str
    name: str          # how its warning names it
    lo: float
    hi: float          # the range in the state the test leaves the page in
    fallback: float    # the value of a box holding no number
    whole: bool = True
    typed: tuple[str, ...] = TYPED  # out of range and not a number (where -1 or 99999 is in range, others)

    def used(self, typed: str) -> float:
        if not re.fullmatch(r"-?\d+", typed):
            return self.fallback
        return min(max(float(typed), self.lo), self.hi)


def text(x: float) -> str:
    """As explorers.common.number_text writes it: whole numbers in full (2147483647), others as %g."""
    return str(int(x)) if float(x).is_integer() and abs(x) < 1e15 else f"{x:g}"


# ---------------------------------------------------------------- page helpers


def type_and_enter(page, elem_id: str, typed: str):
    """Fill the box (letters key by key: Chromium keeps none of them in a number box) and press Enter. fill()
    focuses the box without a click, which on a slider's box would be a release event of its own."""
    box = page.locator(f"#{elem_id} input[type=number]")
    if re.fullmatch(r"-?\d+", typed):
        box.fill(typed)
    else:
        box.fill("")
        box.press_sequentially(typed)
    page.keyboard.press("Enter")


IDLE = """() => ![...document.querySelectorAll('.wrap.full, .wrap.minimal')]
    .some(w => !w.classList.contains('hide') && !w.querySelector('.error') && w.offsetParent !== null)"""


def settle(page):
    """Wait until no event is queued or running (gradio shows a status over each output of one), and still none
    a moment later, when a .then() event would have started: events of one trigger that overlap merge
    (trigger_mode="always_last") or are dropped ("once"), and each step here is meant to be seen on its own."""
    page.wait_for_function(IDLE)
    page.wait_for_timeout(50)
    page.wait_for_function(IDLE)


def toast_texts(page) -> list[str]:
    return page.locator(".toast-message-text").all_inner_texts()


def close_toasts(page):
    """Close the warnings, so that none covers what the next check clicks, or is mistaken for a later one."""
    page.evaluate("() => document.querySelectorAll('.toast-close').forEach(b => b.click())")


def error_badges(page) -> list[str]:
    """The components showing gradio's red Error status (a failed event), by elem_id."""
    return page.evaluate("""() => [...document.querySelectorAll('.error')]
        .filter(e => !e.closest('[class*=toast]') && e.offsetParent !== null)
        .map(e => e.closest('[id]')?.id ?? '?')""")


def boxes_in_dom(page) -> set[str]:
    """The id of the element around every gradio number input on the page (gradio draws a tab when it is opened).
    A widget drawn in the browser (explorers/widgets) checks its own boxes; its browser tests type into them."""
    return set(page.evaluate("() => [...document.querySelectorAll('input[type=number]')]"
                             ".filter(i => !/^html-/.test(i.closest('[id]')?.id ?? ''))"  # a gr.HTML's own element
                             ".map(i => i.closest('[id]')?.id ?? '(no id)')"))


def plot_has(page, selector: str, pattern: str):
    page.wait_for_function("([sel, pat]) => new RegExp(pat).test(document.querySelector(sel + ' .js-plotly-plot')"
                           "?.textContent ?? '')", arg=[selector, pattern])


# ---------------------------------------------------------------- what "the rest of the section works" means


def kernel_works(page, n: int):
    mode, shown = [("min-max", "min-max"), ("signed (diverging)", "signed")][n % 2]
    page.locator("#conv-display label", has_text=mode).click()
    wait_for_text(page, "#conv-output-info", f"Colours: {re.escape(shown)}")


def arithmetic_works(page, n: int):
    row = 1 + n % 2
    type_and_enter(page, "conv-arith-row", str(row))
    wait_for_text(page, "#conv-arith-sum", re.escape(f"output[{row}, "))


def pooling_works(page, n: int):
    kind = ["avg", "max"][n % 2]
    page.locator("#conv-pool-kind label", has_text=kind).click()
    wait_for_text(page, "#conv-pool-info", f"{kind} pooling")


def gallery_works(prefix: str):
    def works(page, n: int):
        c = 1 + n % 2
        before = page.locator(f"#{prefix}-cls img").get_attribute("src") if prefix == "attn" else None
        page.locator(f"#{prefix}-gallery .thumbnail-item").nth(c).click()
        wait_for_text(page, f"#{prefix}-input-note", re.escape(f"Fashion-MNIST test sample: {CLASSES[c]}."))
        if before is not None:  # the CLS map is drawn for the new picture
            page.wait_for_function("(old) => document.querySelector('#attn-cls img')?.src !== old", arg=before)
    return works


def vae_path_works(page, n: int):
    kind = ["slerp", "linear"][n % 2]
    page.locator("#vae-path label", has_text=kind).click()
    wait_for_text(page, "#vae-strip-note", f"along the {kind} path")


def vae_grid_works(page, n: int):
    """A click on the decoded grid decodes that point, whatever the z boxes held."""
    before = page.locator("#vae-point-note").inner_text()
    box = page.locator("#vae-manifold img").bounding_box()
    page.mouse.click(box["x"] + box["width"] * (0.2 + 0.5 * (n % 2)), box["y"] + box["height"] * 0.3)
    page.wait_for_function("(old) => { const t = document.querySelector('#vae-point-note').innerText;"
                           " return t !== old && /z = \\(.*the CNN reads/.test(t); }", arg=before)


def vae_samples_work(page, n: int):
    model = ["vae2", "vae16"][n % 2]
    page.locator("#vae-sample-model label", has_text=model).click()
    wait_for_text(page, "#vae-sample-note", f"decoded by {model}")


def vae_strip_drawn(page):
    """The tab's views are filled when it is first opened: wait for the strip's."""
    wait_for_text(page, "#vae-strip-note", "frames decoded by")


def vae_grid_drawn(page):
    """The latent map's inner tab: wait for the grid, and scroll to it to click."""
    wait_for_text(page, "#vae-map-note", "decoding a 20×20 grid")
    page.locator("#vae-manifold").scroll_into_view_if_needed()


def vae_samples_drawn(page):
    wait_for_text(page, "#vae-sample-note", "decoded by")


def heads_work(plot: str):
    def works(page, n: int):
        head = 2 + n % 2   # never 1, the head the page opens on, which would show without a choice
        choose(page, "attn-head", f"head {head}")
        plot_has(page, plot, f"head {head}")
    return works


def lm_ready(page):
    """The GPT section run on its prompt, so its layer box has a model to be read against."""
    page.locator("#lm-run").click()
    plot_has(page, "#lm-attention", "layer 2, head 0")   # language.OPEN_LAYER, OPEN_HEAD


def lm_works(page, n: int):
    """The most likely next token is added."""
    before = page.locator("#lm-prompt textarea").input_value()
    page.locator("#lm-greedy").click()
    page.wait_for_function("(old) => document.querySelector('#lm-prompt textarea').value !== old", arg=before)
    wait_for_text(page, "#lm-notice", "the most likely token")


def lm_sample(page):
    page.locator("#lm-sample").click()


def lm_generate(page):
    page.locator("#lm-generate").click()


GAN_COUNTER = r"Iteration ([\d,]+) · D updates ([\d,]+) · G updates ([\d,]+)"


def gan_counts(page) -> tuple[int, ...]:
    m = re.search(GAN_COUNTER, page.locator("#gan-counter").inner_text())
    assert m, page.locator("#gan-counter").inner_text()
    return tuple(int(g.replace(",", "")) for g in m.groups())


def gan_image_step(page) -> int:
    return int(re.search(r"Step ([\d,]+)", page.locator("#gan-img-counter").inner_text()).group(1).replace(",", ""))


def gan_toy_works(page, n: int):
    """One Step of the 2-D run with the boxes' values (k = 1): one more iteration, D and G update once each."""
    i, d, g = gan_counts(page)
    page.locator("#gan-step").click()
    wait_for_text(page, "#gan-counter", re.escape(f"Iteration {i + 1:,} · D updates {d + 1:,} · G updates {g + 1:,}"))
    wait_for_text(page, "#gan-status", "One iteration: k D steps, then one G step.")


def gan_toy_drawn(page):
    """The 2-D run is drawn when the GAN tab is first opened: wait for it, so that it cannot overwrite a box."""
    wait_for_text(page, "#gan-counter", "D updates")


def gan_image_works(page, n: int):
    """One Step of the image run with the boxes' values: the step counter rises by one (the first makes the run)."""
    before = gan_image_step(page)
    page.locator("#gan-img-step").click()
    wait_for_text(page, "#gan-img-counter", re.escape(f"Step {before + 1:,}") + "(?![\\d,])")
    wait_for_text(page, "#gan-img-status", "One iteration: k D steps, then one G step.")


def gan_image_run(page):
    """The walk needs a generator: one step of the image run first."""
    gan_image_works(page, 0)
    settle(page)
    page.locator("#gan-img-walk").scroll_into_view_if_needed()


def gan_walk_works(page, n: int):
    """A walk from another seed: its note names the seed and the strip of frames loads."""
    seed = 2 + n % 2
    page.locator("#gan-img-walk-seed input[type=number]").fill(str(seed))
    page.locator("#gan-img-walk").click()
    wait_for_text(page, "#gan-img-walk-note", re.escape(f"(both drawn from seed {seed}), 10 frames."))
    page.wait_for_function("() => document.querySelector('#gan-img-walk-strip img')?.naturalWidth > 0")


GAN_GAUSSIANS = ("gan-mu-data", "gan-sd-data", "gan-mu-g", "gan-sd-g")


def gan_d_star_works(page, n: int):
    """Another p_g's sd: the title gives the game's value for the four boxes as they are now."""
    type_and_enter(page, "gan-sd-g", ["0.5", "0.8"][n % 2])
    values = [float(page.locator(f"#{b} input[type=number]").input_value()) for b in GAN_GAUSSIANS]
    plot_has(page, "#gan-dstar-plot", re.escape(f"V(D*, G) = {toy.game_value(*values):.4f} nats"))


def gan_d_star_drawn(page):
    plot_has(page, "#gan-dstar-plot", r"V\(D\*, G\) = -?\d")


def gan_snapshots(page):
    """Image steps until the run keeps two snapshots (steps 0 and 5): the scrubber then goes from 0 to 1."""
    while gan_image_step(page) < dcgan.SNAPSHOT_EVERY:
        gan_image_works(page, 0)
        settle(page)
    assert gan_image_step(page) < 2 * dcgan.SNAPSHOT_EVERY
    page.wait_for_function("() => !document.querySelector('#gan-img-scrubber input[type=range]').disabled")


def gan_scrubber_works(page, n: int):
    """The first or the last snapshot, from the track's keys."""
    index = n % 2
    page.locator("#gan-img-scrubber input[type=range]").focus()
    page.keyboard.press("Home" if index == 0 else "End")
    page.locator("#gan-img-scrubber input[type=range]").dispatch_event("pointerup")
    wait_for_text(page, "#gan-img-snapshot-note", f"Snapshot at step {index * dcgan.SNAPSHOT_EVERY} of")


def diff_forward_works(page, n: int):
    """Another schedule: the schedule's text and the forward view name it, for the seed the box holds now."""
    kind, shown = [("cosine (Nichol", "cosine"), ("linear (1e-4", "linear")][n % 2]
    page.locator("#diff-kind label", has_text=kind).click()
    wait_for_text(page, "#diff-coefs", re.escape(f"{shown}, T = 1000"))
    wait_for_text(page, "#diff-forward-view .dfv-readout", re.escape(f"of T = 1000 ({shown})"))


def diff_forward_drawn(page):
    """The forward views are drawn when the tab is first opened: wait for them, so that they cannot overwrite a box."""
    wait_for_text(page, "#diff-coefs", "T = 1000")


def diff_sample(page):
    """Sample, and Stop once the run has started (a box may have asked for 1000 steps): the boxes are read, and
    their warnings shown, when Sample is pressed (Enter in them commits nothing)."""
    page.locator("#diff-run").click()


def diff_stop(page):
    wait_for_text(page, "#diff-status", "running|done")
    page.locator("#diff-stop").click()
    wait_for_text(page, "#diff-status", r"\), stopped: |done")


def diff_fast(page):
    """DPM-Solver++ (0.15 s a step here) for the runs of the reverse section, and η's accordion opened."""
    choose(page, "diff-scheduler", "DPM-Solver++ (2M)")
    if not page.locator("#diff-eta").is_visible():
        page.get_by_text("More: η, remedies for large w").click()
        page.wait_for_selector("#diff-eta input[type=number]", state="visible")
    page.locator("#diff-run").scroll_into_view_if_needed()


def diff_reverse_works(page, n: int):
    """A short run with the boxes' values (and 5 steps): it ends, and the status says so."""
    page.locator("#diff-steps input[type=number]").fill("5")
    page.locator("#diff-run").click()
    wait_for_text(page, "#diff-status", r"Step 5 of 5\*?\*? .*done")


def diff_compare(page):
    page.locator("#diff-compare").click()


def diff_compared(page):
    wait_for_text(page, "#diff-b-note", r"s of sampling")


def diff_cheap_compare(page):
    """Both sides DPM-Solver++ with 5 steps, so that each Compare takes a few seconds."""
    choose(page, "diff-a-sched", "DPM-Solver++ (2M)")
    choose(page, "diff-b-sched", "DPM-Solver++ (2M)")
    page.locator("#diff-a-steps input[type=number]").fill("5")
    page.locator("#diff-b-steps input[type=number]").fill("5")


def diff_compare_works(page, n: int):
    """Compare from a seed no earlier run used: both notes name it (a note that only changed by its wall time could
    round to the same text, and a wait for it to change would then never end)."""
    seed = 100 + n
    page.locator("#diff-cmp-seed input[type=number]").fill(str(seed))
    page.locator("#diff-compare").click()
    wait_for_text(page, "#diff-b-note", rf"seed {seed}: .*s of sampling")
    wait_for_text(page, "#diff-a-note", rf"seed {seed}: .*s of sampling")


def dtoy_train(page):
    page.locator("#dtoy-run").click()


def dtoy_trained(page):
    wait_for_text(page, "#dtoy-status", "Trained [\\d,]+ steps")


# Whether gradio has shown an event's pending status anywhere since armed (an event shows it on one component:
# explorers.common.progress_on_one): the event ran, even when its result reads as before (a seeded toy trained for
# the same steps writes the same note).
ARM_BUSY = f"""() => {{
    window.__busy?.observer.disconnect();  // the last arming's
    const idle = {IDLE}, state = window.__busy = {{seen: false}};
    state.observer = new MutationObserver(() => {{ if (!idle()) state.seen = true; }});
    state.observer.observe(document.body, {{subtree: true, attributes: true, childList: true}});
}}"""
BUSY_DONE = f"() => window.__busy.seen && ({IDLE})()"


def dtoy_works(page, n: int):
    """Train and sample again (the boxes hold cheap values by now): the event runs and ends with a trained toy."""
    page.evaluate(ARM_BUSY)
    page.locator("#dtoy-run").click()
    page.wait_for_function(BUSY_DONE)
    wait_for_text(page, "#dtoy-status", "Trained [\\d,]+ steps")
    page.wait_for_selector("#dtoy-particles-plot .js-plotly-plot", state="attached")


@dataclass(frozen=True)
class Section:
    tab: str
    boxes: tuple[NumberBox, ...]
    works: Callable
    subtab: str | None = None
    setup: Callable | None = None
    commit: Callable | None = None  # after Enter, where Enter alone reads no box (a button that reads them)
    finish: Callable | None = None  # once the box shows the value used (stop what commit started)


def fashion_source(page):
    page.locator("#conv-source label", has_text="Fashion-MNIST sample").click()
    page.wait_for_selector("#conv-fashion-index input[type=number]", state="visible")


SECTIONS = [
    # the ranges of the convolution check itself (core.convolution.conv), which the boxes take
    Section("Convolution", (NumberBox("conv-stride", "Stride", 1, conv.MAX_STRIDE, 1),
                            NumberBox("conv-padding", "Padding", 0, conv.MAX_PADDING, 1),
                            NumberBox("conv-dilation", "Dilation", 1, conv.MAX_DILATION, 1)), kernel_works,
            subtab=KERNEL),
    Section("Convolution", (NumberBox("conv-fashion-index", "Fashion-MNIST test sample #", 0, LAST_SAMPLE, 0),),
            kernel_works, setup=fashion_source, subtab=KERNEL),
    Section("Convolution", (NumberBox("conv-arith-sample", "Fashion-MNIST test sample # (step-through)", 0,
                                      LAST_SAMPLE, 0),
                            NumberBox("conv-arith-stride", "Stride (step-through)", 1, conv.MAX_STRIDE, 1),
                            NumberBox("conv-arith-padding", "Padding (step-through)", 0, 4, 1),  # 7×7 stays readable
                            NumberBox("conv-arith-dilation", "Dilation (step-through)", 1, conv.MAX_DILATION, 1),
                            NumberBox("conv-arith-row", "Output row", 0, 6, 0),
                            NumberBox("conv-arith-col", "Output column", 0, 6, 0)), arithmetic_works,
            subtab=KERNEL),
    Section("Convolution", (NumberBox("conv-pool-size", "Window size", 1, 7, 2),  # 7: the window fits the 7×7 matrix
                            NumberBox("conv-pool-stride", "Stride (pooling)", 1, 8, 2)), pooling_works,
            subtab=KERNEL),
    Section("Convolution", (NumberBox("cnn-temperature", "Softmax temperature T", 0.1, 10, 1, whole=False),
                            NumberBox("cnn-top-k", "k (top-k)", 1, 64, 16),
                            NumberBox("cnn-channel", "Channel", 0, CNN_CHANNELS - 1, 0),
                            NumberBox("cnn-gradcam-opacity", "Overlay opacity", 0, 1, 0.5, whole=False)),
            gallery_works("cnn"), subtab=NETWORK, setup=open_gallery),
    Section("Attention", (NumberBox("attn-layer", "Layer", 0, 5, 5),), heads_work("#attn-heatmap")),
    Section("Attention", (NumberBox("lm-layer", "GPT layer", 0, 3, 3),), lm_works, subtab="GPT: next token",
            setup=lm_ready),
    Section("Attention", (NumberBox("lm-seed", "Seed", 0, 2**31 - 1, 0, typed=("-1", "99999999999", "abc")),),
            lm_works, subtab="GPT: next token", commit=lm_sample),
    # -1 and 0 only: 99999 and no number would generate 200 and 20 tokens each time.
    Section("Attention", (NumberBox("lm-steps", "Tokens to generate", 1, 200, 20, typed=("-1", "0")),), lm_works,
            subtab="GPT: next token", commit=lm_generate),
    Section("Attention", (NumberBox("attn-image-layer", "Layer (images)", 0, VIT_LAYERS - 1, VIT_LAYERS - 1),
                          NumberBox("attn-opacity", "Overlay opacity", 0, 1, 0.5, whole=False),
                          NumberBox("attn-patch", "Patch", 0, 15, 5)), gallery_works("attn"), subtab="Images (ViT)"),
    Section("VAE", (NumberBox("vae-steps", "Steps", 2, 32, 10),), vae_path_works, subtab="Interpolation",
            setup=vae_strip_drawn),
    Section("VAE", (NumberBox("vae-z1", "z1", -12, 12, 0, whole=False, typed=("-99999", "99999", "abc")),
                    NumberBox("vae-z2", "z2", -12, 12, 0, whole=False, typed=("-99999", "99999", "abc"))),
            vae_grid_works, subtab="Latent map", setup=vae_grid_drawn),
    Section("VAE", (NumberBox("vae-tau", "Temperature τ", 0, 3, 1, whole=False),
                    NumberBox("vae-seed", "Seed", 0, 2**31 - 1, 0, typed=("-1", "99999999999", "abc"))),
            vae_samples_work, subtab="Prior and dimensions", setup=vae_samples_drawn),
    Section("GAN", (NumberBox("gan-k", "k (D steps per G step)", 1, toy.MAX_K, 1),
                    NumberBox("gan-lr-d", "D's learning rate", 1e-6, 10, 0.003, whole=False),
                    NumberBox("gan-lr-g", "G's learning rate", 1e-6, 10, 0.003, whole=False),
                    NumberBox("gan-batch", "Batch size", 1, toy.MAX_BATCH, 150),
                    NumberBox("gan-smoothing", "Label smoothing", 0, 0.5, 0, whole=False),
                    NumberBox("gan-gp-lambda", "WGAN-GP λ", 0, 1000, 10, whole=False),
                    NumberBox("gan-g-layers", "G's hidden layers", 0, toy.MAX_LAYERS, 2),
                    NumberBox("gan-g-neurons", "G's neurons per layer", 1, toy.MAX_NEURONS, 32),
                    NumberBox("gan-d-layers", "D's hidden layers", 0, toy.MAX_LAYERS, 2),
                    NumberBox("gan-d-neurons", "D's neurons per layer", 1, toy.MAX_NEURONS, 32),
                    NumberBox("gan-seed", "Seed", 0, 2**31 - 1, 0, typed=("-1", "99999999999", "abc"))),
            gan_toy_works, subtab="2-D toy data", setup=gan_toy_drawn),
    Section("GAN", (NumberBox("gan-img-k", "k (D steps per G step)", 1, dcgan.MAX_K, 1),
                    NumberBox("gan-img-lr-d", "D's learning rate", 1e-6, 1, 2e-4, whole=False),
                    NumberBox("gan-img-lr-g", "G's learning rate", 1e-6, 1, 2e-4, whole=False),
                    NumberBox("gan-img-batch", "Batch size", 2, dcgan.MAX_BATCH, 64),
                    NumberBox("gan-img-smoothing", "Label smoothing", 0, 0.5, 0.1, whole=False),
                    NumberBox("gan-img-gp-lambda", "WGAN-GP λ", 0, 100, 10, whole=False),
                    NumberBox("gan-img-seed", "Seed", 0, 2**31 - 1, 0, typed=("-1", "99999999999", "abc"))),
            gan_image_works, subtab="Images (Fashion-MNIST)"),
    Section("GAN", (NumberBox("gan-img-walk-seed", "Walk seed", 0, 2**31 - 1, 1, typed=("-1", "99999999999", "abc")),
                    NumberBox("gan-img-walk-steps", "Walk steps", 2, dcgan.MAX_WALK, 10)),
            gan_walk_works, subtab="Images (Fashion-MNIST)", setup=gan_image_run),
    Section("GAN", (NumberBox("gan-mu-data", "p_data's mean", -5, 5, 0, whole=False,
                              typed=("-99999", "99999", "abc")),
                    NumberBox("gan-sd-data", "p_data's sd", 0.05, 5, 1, whole=False),
                    NumberBox("gan-mu-g", "p_g's mean", -5, 5, 1.5, whole=False, typed=("-99999", "99999", "abc")),
                    NumberBox("gan-sd-g", "p_g's sd", 0.05, 5, 0.6, whole=False)),
            gan_d_star_works, subtab="D* playground", setup=gan_d_star_drawn),
    Section("Diffusion", (NumberBox("diff-forward-seed", "Noise seed", 0, 2**31 - 1, 0,
                                    typed=("-1", "99999999999", "abc")),),
            diff_forward_works, subtab="Forward process", setup=diff_forward_drawn),
    Section("Diffusion", (NumberBox("diff-steps", "Steps", 1, 1000, 50),
                          NumberBox("diff-w", "Guidance w", 0, 10, 3, whole=False),
                          NumberBox("diff-seed", "Seed", 0, 2**31 - 1, 0, typed=("-1", "99999999999", "abc")),
                          NumberBox("diff-eta", "DDIM η", 0, 1, 0, whole=False),
                          NumberBox("diff-rescale", "Guidance rescale φ", 0, 1, 0, whole=False)),
            diff_reverse_works, subtab="Reverse process", setup=diff_fast, commit=diff_sample, finish=diff_stop),
    # A side's steps: -1 and 0 only (99999 and no number would mean 1000 steps, minutes of sampling).
    Section("Diffusion", (NumberBox("diff-cmp-seed", "Seed", 0, 2**31 - 1, 0, typed=("-1", "99999999999", "abc")),
                          NumberBox("diff-a-steps", "A: steps", 1, 1000, 1000, typed=("-1", "0")),
                          NumberBox("diff-a-w", "A: guidance w", 0, 10, 3, whole=False),
                          NumberBox("diff-b-steps", "B: steps", 1, 1000, 50, typed=("-1", "0")),
                          NumberBox("diff-b-w", "B: guidance w", 0, 10, 3, whole=False)),
            diff_compare_works, subtab="Compare", setup=diff_cheap_compare, commit=diff_compare,
            finish=diff_compared),
    # Training seconds first, and -1 and 0 only (0.1 s: 99999 would train for 30 s, no number for 4 s each time).
    Section("Diffusion", (NumberBox("dtoy-seconds", "Training seconds", 0.1, 30, 4, whole=False, typed=("-1", "0")),
                          NumberBox("dtoy-particles", "Particles", 1, 2000, 500),
                          NumberBox("dtoy-steps", "Sampling steps", 1, 1000, 50),
                          NumberBox("dtoy-seed", "Seed", 0, 2**31 - 1, 0, typed=("-1", "99999999999", "abc"))),
            dtoy_works, subtab="2-D toy", commit=dtoy_train, finish=dtoy_trained),
    # Last: the scrubber needs a run with two snapshots, and its range grows with the run.
    Section("GAN", (NumberBox("gan-img-scrubber", "History: snapshot", 0, 1, 1),),
            gan_scrubber_works, subtab="Images (Fashion-MNIST)", setup=gan_snapshots),
]
BOXES = {box.elem_id: box for section in SECTIONS for box in section.boxes}


def expected_warning(box: NumberBox, typed: str) -> str:
    if not re.fullmatch(r"-?\d+", typed):
        problem = "the box holds no number"
    else:
        problem = f"{typed} is too small" if float(typed) < box.lo else f"{typed} is too large"
    kind = "whole numbers" if box.whole else "numbers"
    return (f"{box.name} takes {kind} from {text(box.lo)} to {text(box.hi)}: {problem}, so "
            f"{text(box.used(typed))} is used.")


# Every toast shown since the last reset, kept after it closes: the warning comes as soon as the event reads the
# box, the clamped value with the event's result, and on a busy machine a Compare between them outlasted the
# toast's 10 s (the box showed 3 with no toast left to see).
TOASTS_SEEN = """() => {
    window.__toasts = new Set();
    window.__toastError = false;
    if (window.__toastWatch) return;
    window.__toastWatch = new MutationObserver(() => {
        document.querySelectorAll('.toast-message-text').forEach(t => window.__toasts.add(t.innerText));
        if (document.querySelector('.toast-body.error')) window.__toastError = true;
    });
    window.__toastWatch.observe(document.body, {childList: true, subtree: true, characterData: true});
}"""

SETTLED = """([id, message, value]) => {
    const texts = [...window.__toasts];
    const shown = document.querySelector(`#${id} input[type=number]`).value;
    const error = window.__toastError;
    return (error || texts.includes(message) && shown !== '' && Number(shown) === value) && {texts, shown, error};
}"""


def abuse(page, box: NumberBox, typed: str, section: Section | None = None):
    """Type into the box and press Enter; the box must name itself, show the value used, and break nothing."""
    message = expected_warning(box, typed)
    page.evaluate(TOASTS_SEEN)
    type_and_enter(page, box.elem_id, typed)
    if section is not None and section.commit:
        section.commit(page)
    try:
        state = page.wait_for_function(SETTLED, arg=[box.elem_id, message, box.used(typed)]).json_value()
    except PlaywrightTimeout:
        raise AssertionError(f"{box.elem_id} after {typed!r}: the box shows "
                             f"{page.locator(f'#{box.elem_id} input[type=number]').input_value()!r}, the toasts say "
                             f"{toast_texts(page)}; expected {message!r}") from None
    assert not [t for t in state["texts"] if GENERIC.search(t)], state
    assert not state["error"] and message in state["texts"], state
    assert box.lo <= float(state["shown"]) <= box.hi, state
    if section is not None and section.finish:
        section.finish(page)
    settle(page)


def test_the_test_lists_every_number_box_of_the_app(server_url, browser):
    """Every gr.Number and gr.Slider of the app is a NumberBox below (by elem_id), so the tests per tab cover all."""
    page = browser.new_page()
    try:
        config = page.request.get(f"{server_url}/config").json()
    finally:
        page.close()
    in_config = {c["props"].get("elem_id") or f"(no elem_id, component {c['id']})" for c in config["components"]
                 if c["type"] in ("number", "slider")}
    assert in_config == set(BOXES), "a number box is not in this test (or an elem_id changed)"


@pytest.mark.parametrize("tab", list(dict.fromkeys(section.tab for section in SECTIONS)))
def test_every_number_box_names_itself_clamps_and_keeps_its_section_working(app_page, screenshot_dir, tab):
    """One test per tab (each on a fresh page), so that a slow step of one tab cannot time out another's."""
    page = app_page
    # A condition waited for, never a pause: on a busy CI machine one of this test's hundreds of round trips (a VAE
    # grid click behind another section's model loading) has taken over the default 30 s.
    page.set_default_timeout(90_000)
    sections = [section for section in SECTIONS if section.tab == tab]
    page.get_by_role("tab", name=tab, exact=True).click()
    if tab == "Attention":  # the text views fill in once the text model has loaded
        plot_has(page, "#attn-heatmap", "layer 3, head 1")  # the default head (text.DEFAULT_HEAD)
    seen = boxes_in_dom(page)
    pairs = [(section, box) for section in sections for box in section.boxes]
    for checks, (section, box) in enumerate(pairs):
        if box is section.boxes[0]:
            if section.subtab:
                page.get_by_role("tab", name=section.subtab, exact=True).click()
            if section.setup:
                section.setup(page)
            seen |= boxes_in_dom(page)
        for typed in box.typed:
            abuse(page, box, typed, section)
            if box.elem_id == "attn-patch" and typed == "99999":
                wait_for_text(page, "#attn-patch-note", re.escape("Patch 15 (row 3, column 3)"))
                page.evaluate("() => document.querySelector('#attn-image-model').scrollIntoView()")
                page.screenshot(path=str(screenshot_dir / "number_boxes_patch.png"), full_page=False)
        close_toasts(page)
        section.works(page, checks)
        settle(page)
        assert error_badges(page) == [], (box.elem_id, error_badges(page))
        assert not [t for t in toast_texts(page) if GENERIC.search(t)]
    assert seen <= set(BOXES), f"the {tab} tab has a number box this test does not list: {seen - set(BOXES)}"
    assert {box.elem_id for section in sections for box in section.boxes} <= seen
