"""Each tab's first screen (issue 27). At 1400 × 900, on opening, every tab and section tab shows its path (a lead
and numbered steps, explorers/path.py), its main picture and its main control without scrolling. At 1400 and 800 px
wide, once its main action has run, no text lies over a picture or another text (overlaps.js), the page does not
scroll sideways, no inner tab is folded behind gradio's "⋯", and at 800 px one screen holds the main control with
the top of the main picture."""
from pathlib import Path

import pytest

from tests.browser.test_number_boxes import IDLE

OVERLAPS = (Path(__file__).with_name("overlaps.js")).read_text()
# Overlays drawn on purpose by gradio itself: a gallery's captions on its thumbnails, a table's drop hint (shown
# only while a file is dragged over it), an image editor's toolbar and zoom over its canvas.
ON_PURPOSE = ".caption-label, .drop-hint, .toolbar-wrap, .top-panel"
HEIGHT = 900
# Each tab and the inner tabs that are its sections (each with a path of its own).
SECTIONS = {"Convolution": ("Inside a trained CNN", "A kernel on an image"),
            "Attention": ("Text", "GPT: next token", "Images (ViT)"),
            "VAE": ("Interpolation", "Latent map", "Prior and dimensions"),
            "GAN": ("2-D toy data", "Images (Fashion-MNIST)", "D* playground"),
            "Diffusion": ("Forward process", "Reverse process", "Compare", "2-D toy")}
OPENINGS = [(tab, section) for tab, sections in SECTIONS.items() for section in sections]
PICTURE_SHOWN = 300  # px of the main picture that must be on the first screen (all of it, when it is shorter)

# The shown paths (the innermost open tab's, and its tab's if it has one) and the boxes of what they name.
BOXES = """() => [...document.querySelectorAll('.gb-path')].filter(p => p.offsetParent !== null).map(p => {
    const box = (id) => { const el = document.getElementById(id); if (!el || el.offsetParent === null) return null;
                          const r = el.getBoundingClientRect(); return {id, top: r.top, bottom: r.bottom,
                                                                       left: r.left, right: r.right}; };
    const r = p.getBoundingClientRect();
    return {path: {id: 'path', top: r.top, bottom: r.bottom, left: r.left, right: r.right},
            picture: box(p.dataset.picture), control: box(p.dataset.control), action: p.dataset.action || null};
})"""


def open_section(page, tab, section, whole=True):
    """Open a section and wait for its path, and (`whole`) its picture and control: a step may have opened an inner
    tab that hides the picture (the attention heatmap's tab behind "Model view")."""
    page.get_by_role("tab", name=tab, exact=True).click()
    if section:
        page.get_by_role("tab", name=section, exact=True).click()
    shown = "b.picture && b.control" if whole else "true"
    page.wait_for_function(f"() => ({BOXES})().some(b => {shown})", timeout=60_000)


def on_first_screen(paths, width):
    """What of each path is not on the first screen: the path and the control whole, the picture's top part."""
    missing = []
    for p in paths:
        for name in ("path", "control", "picture"):
            b = p[name]
            if b is None:
                missing.append(f"{name}: not shown")
                continue
            shown = b["bottom"] - b["top"] if name != "picture" else min(PICTURE_SHOWN, b["bottom"] - b["top"])
            if b["top"] < 0 or b["top"] + shown > HEIGHT or b["left"] < 0 or b["right"] > width + 1:
                missing.append(f"{name} #{b.get('id')}: {b}")
    return missing


@pytest.mark.parametrize(("tab", "section"), OPENINGS)
def test_first_screen_holds_path_picture_and_control(browser, server_url, tab, section, screenshot_dir):
    page = browser.new_page(viewport={"width": 1400, "height": HEIGHT})
    try:
        page.goto(server_url)
        page.wait_for_selector("#gb-device", state="visible", timeout=60_000)
        open_section(page, tab, section)
        page.wait_for_function(IDLE, timeout=60_000)
        page.evaluate("window.scrollTo(0, 0)")
        paths = page.evaluate(BOXES)
        page.screenshot(path=str(screenshot_dir / f"first_screen_{tab}_{section or 'tab'}_1400.png".replace(" ", "_")))
        assert paths, f"{tab}/{section}: no path shown"
        assert not on_first_screen(paths, 1400), f"{tab}/{section}: {on_first_screen(paths, 1400)}"
    finally:
        page.close()


@pytest.mark.parametrize("width", [1400, 800])
@pytest.mark.parametrize(("tab", "section"), OPENINGS)
def test_no_label_over_a_picture(browser, server_url, tab, section, width, screenshot_dir):
    page = browser.new_page(viewport={"width": width, "height": HEIGHT})
    try:
        page.goto(server_url)
        page.wait_for_selector("#gb-device", state="visible", timeout=60_000)
        open_section(page, tab, section)
        action = next((p["action"] for p in page.evaluate(BOXES) if p["action"]), None)
        if action:
            page.locator(f"#{action}").click()
        page.wait_for_function(IDLE, timeout=120_000)
        # Overlaps while a picture or a toast is still arriving are not the page's; a minute for it to settle.
        try:
            page.wait_for_function(f"() => ({OVERLAPS})({ON_PURPOSE!r}).length === 0", timeout=60_000)
        except Exception as timeout:
            page.screenshot(path=str(screenshot_dir / f"FAILED-overlap_{tab}_{section}_{width}.png"), full_page=True)
            found = page.evaluate(OVERLAPS, ON_PURPOSE)[:20]
            raise AssertionError(f"{tab}/{section} at {width} px: {found}") from timeout
        # The whole page after its main action, at this width: what a person looks at before an issue closes.
        page.screenshot(path=str(screenshot_dir / f"after_action_{tab}_{section or 'tab'}_{width}.png"
                                 .replace(" ", "_")), full_page=True)
        assert page.evaluate("document.documentElement.scrollWidth") <= width + 1, "the page scrolls sideways"
        cut = page.evaluate("""() => [...document.querySelectorAll('.gb-gallery')].filter(g => g.offsetParent)
            .flatMap(g => { const edge = g.getBoundingClientRect().right;
                            return [...g.querySelectorAll('.thumbnail-item')]
                                .filter(t => t.getBoundingClientRect().right > edge + 1)
                                .map(t => `${g.id}: ${t.textContent.trim()}`); })""")
        assert not cut, f"thumbnails cut at the gallery's edge: {cut}"
        folded = page.evaluate("""() => [...document.querySelectorAll('[role=tablist]')].filter(l => l.offsetParent)
            .flatMap(l => [...l.querySelectorAll('[role=tab]')]).filter(b => !b.checkVisibility())
            .map(b => b.textContent.trim())""")
        assert not folded, f"tabs folded behind ⋯: {folded}"
        if width == 800:
            for p in page.evaluate(BOXES):
                c, pic = p["control"], p["picture"]
                picture_top = pic["top"] + min(PICTURE_SHOWN, pic["bottom"] - pic["top"])
                span = max(c["bottom"], picture_top) - min(c["top"], pic["top"])
                assert span <= HEIGHT, f"{tab}/{section}: #{c['id']} and #{pic['id']} span {span} px"
    finally:
        page.close()


def test_the_overlap_check_finds_a_label_over_a_picture(browser):
    page = browser.new_page(viewport={"width": 800, "height": 600})
    try:
        picture = "<img src='data:image/gif;base64,R0lGODlhAQABAAAAACw=' style='width:200px;height:200px'>"
        page.set_content(f"""<div style='position:relative'>{picture}
            <span style='position:absolute;left:20px;top:20px'>a label over it</span></div>
            <div style='position:relative'>{picture}
            <span data-overlay style='position:absolute;left:20px;top:20px'>drawn on purpose</span></div>
            <p style='margin:0;line-height:4px'>two lines<br>run together</p>
            <p>clear of everything</p>""")
        found = page.evaluate(OVERLAPS, ON_PURPOSE)
        assert any(f.startswith('"a label over it"') and "over img" in f for f in found), found
        assert any('"two lines"' in f and '"run together"' in f for f in found), found
        assert not any("drawn on purpose" in f or "clear of everything" in f for f in found), found
    finally:
        page.close()


# Every step of every shown path: its target's id, and the label of the inner tab that holds it.
STEPS = """() => [...document.querySelectorAll('.gb-path')].filter(p => p.offsetParent !== null)
    .flatMap(p => [...p.querySelectorAll('a[data-target]')]).map(a => [a.dataset.target, a.dataset.tab || null])"""
# Whether an element is shown and on the screen (a smooth scroll has ended when its top is inside the viewport).
ON_SCREEN = """(id) => { const el = document.getElementById(id); if (!el || el.offsetParent === null) return false;
    const r = el.getBoundingClientRect(); return r.top >= -1 && r.top < innerHeight; }"""


@pytest.mark.parametrize("tab", list(SECTIONS))
def test_every_step_leads_to_its_view(app_page, tab):
    """Following a step's link shows its view on the screen, opening the inner tab that holds it first."""
    page = app_page
    for section in SECTIONS[tab]:
        open_section(page, tab, section)
        steps = page.evaluate(STEPS)
        assert 3 <= len(steps) <= 6 * len(page.evaluate(BOXES)), steps
        for number, (target, _) in enumerate(steps):
            open_section(page, tab, section, whole=False)  # a step may have opened another inner tab
            page.evaluate("window.scrollTo(0, 0)")
            page.locator(".gb-path:visible a[data-target]").nth(number).click()
            page.wait_for_function(ON_SCREEN, arg=target, timeout=30_000)
