"""The VAE tab's events: what a new endpoint or path setting recomputes (in one event), the map's decoded point,
the samples, the KL calculator, and filling every view the first time the tab is opened."""
import gradio as gr

from core.vae import latent as L
from explorers.common import Reading, combined, outputs, skipped, user_errors
from explorers.inputs import PRIVATE
from explorers.vae.dimensions import SEED, TAU, DimensionViews, dimension_views, kl_answer, sample_views
from explorers.vae.endpoints import image_input
from explorers.vae.interpolation import (
    STEPS,
    CompareViews,
    EndpointViews,
    PathViews,
    compare_views,
    endpoint_views,
    path_views,
)
from explorers.vae.latent_map import (
    Z1,
    Z2,
    MapViews,
    decode_views,
    from_pixel,
    grid_sheet,
    map_value,
    map_views,
)
from explorers.vae.layout import Components

# A new endpoint or path setting shows every view it alters in ONE event: a second event chained after the first
# would wait a whole extra round trip and gradio's page work per event. Each event sends only the views its change
# alters (gr.skip() for the rest): B's code when A changes, the traversal only for A, the map's path but not its
# grid. A new model for the path alters only FirstViews.
FirstViews = combined("FirstViews", EndpointViews, PathViews)
AllViews = combined("AllViews", FirstViews, CompareViews, MapViews, DimensionViews)


def first_views(x_a, x_b, steps: Reading, path: str, model: str, which: str = "AB") -> FirstViews:
    """The codes of the endpoints in `which` and the decoded path; `steps` is the steps box as read."""
    return FirstViews(*endpoint_views(x_a, x_b, model, which), *path_views(x_a, x_b, steps, path, model))


def all_views(x_a, x_b, steps_box, path: str, model: str, map_model: str, point, which: str = "AB",
              whole_map: bool = False) -> AllViews:
    """Every view a new endpoint (`which`: "A", "B", both, or "" for a new path setting) alters: first_views, AE
    vs VAE, the map's path (with the grid and its note too when `whole_map`), and the dimensions of A's code when
    A is new."""
    steps = STEPS.read(steps_box)
    if whole_map:
        views = map_views(x_a, x_b, steps.value, path, map_model, point)
    else:
        views = MapViews(map_value(x_a, x_b, steps.value, path, map_model, point), gr.skip(), gr.skip())
    dims = dimension_views(x_a) if "A" in which else skipped(DimensionViews)
    return AllViews(*first_views(x_a, x_b, steps, path, model, which),
                    *compare_views(x_a, x_b, steps.value, path), *views, *dims)


def read(image_a, image_b):
    return image_input(image_a), image_input(image_b)


def pinned(z1_box, z2_box) -> tuple[float, float]:
    """The decoded point the z boxes show: the one the map and the grid mark."""
    return Z1.read(z1_box).value, Z2.read(z2_box).value


def wire(c: Components, tab: gr.Tab) -> None:
    """Connect every event of the tab, in the order the page registers them."""
    wire_path(c)
    wire_map(c)
    gr.on([c.resample.click, c.sample_model.input, c.tau.release, c.seed.submit], user_errors(sample_views),
          [c.sample_model, c.tau, c.seed], sample_outputs(c), trigger_mode="always_last", **PRIVATE)
    c.kl_go.click(user_errors(kl_answer), [c.kl_mu, c.kl_logvar], c.kl_out, **PRIVATE)
    wire_first_open(c, tab)


def controls(c: Components) -> list:
    return [c.steps, c.path, c.model, c.map_model]


def sample_outputs(c: Components) -> list:
    return [c.samples, c.sample_note, c.tau, c.seed]


def wire_path(c: Components) -> None:
    """A new endpoint, steps or path: every view it alters, in one event; a new model for the path changes only
    the first views."""
    ui = vars(c)
    both = [c.column_a.image, c.column_b.image, *controls(c)]
    all_out = outputs(AllViews, ui)

    def all_ui(which: str):
        @user_errors
        def views(a, b, steps_box, path_kind, model, map_model, z1_box, z2_box):
            return all_views(*read(a, b), steps_box, path_kind, model, map_model, pinned(z1_box, z2_box), which)
        return views

    c.column_a.on_new_image(all_ui("A"), [c.column_b.image, *controls(c), c.z1, c.z2], all_out)
    from_b = all_ui("B")
    c.column_b.on_new_image(lambda img, a, *values: from_b(a, img, *values),
                            [c.column_a.image, *controls(c), c.z1, c.z2], all_out)
    gr.on([c.steps.release, c.path.input], all_ui(""), [*both, c.z1, c.z2], all_out, trigger_mode="always_last",
          **PRIVATE)

    @user_errors
    def new_model(a, b, steps_box, path_kind, model):
        return first_views(*read(a, b), STEPS.read(steps_box), path_kind, model)

    c.model.input(new_model, [c.column_a.image, c.column_b.image, c.steps, c.path, c.model], outputs(FirstViews, ui),
                  trigger_mode="always_last", **PRIVATE)


def wire_map(c: Components) -> None:
    """Moving z1 or z2, choosing the map's model, or clicking the decoded grid decodes that point and marks it on
    the map and the grid; a click on the map has pinned it there already, so it updates the rest."""
    point_views = [c.point, c.point_note, c.z1, c.z2]

    @user_errors
    def decode_ui(image_a, image_b, steps_box, path_kind, map_name, z1_box, z2_box):
        image, note, z1_shown, z2_shown, z = decode_views(map_name, z1_box, z2_box)
        views = map_views(*read(image_a, image_b), STEPS.read(steps_box).value, path_kind, map_name, z)
        return image, note, z1_shown, z2_shown, *views

    @user_errors
    def click_ui(evt: gr.SelectData, image_a, image_b, steps_box, path_kind, map_name):
        z1_value, z2_value = (float(v) for v in from_pixel(map_name, evt.index[0], evt.index[1], L.GRID * 28))
        views = decode_ui(image_a, image_b, steps_box, path_kind, map_name, z1_value, z2_value)
        return *views[:2], z1_value, z2_value, *views[4:]  # the boxes show the clicked point

    @user_errors
    def pin_ui(evt: gr.EventData, map_name):
        image, note, _, _, z = decode_views(map_name, *evt.z)
        return image, note, float(z[0]), float(z[1]), grid_sheet(map_name, z)  # the boxes show the pinned point

    map_inputs = [c.column_a.image, c.column_b.image, c.steps, c.path, c.map_model]
    # A new map model decodes the same point again, so the point's picture and note never name the other model.
    gr.on([c.z1.release, c.z2.release, c.map_model.input], decode_ui, [*map_inputs, c.z1, c.z2],
          [*point_views, *outputs(MapViews, vars(c))], trigger_mode="always_last", **PRIVATE)
    c.manifold.select(click_ui, map_inputs, [*point_views, *outputs(MapViews, vars(c))], **PRIVATE)
    c.latent_map.click(pin_ui, c.map_model, [*point_views, c.manifold], trigger_mode="always_last", **PRIVATE)


def wire_first_open(c: Components, tab: gr.Tab) -> None:
    """Opening the tab the first time fills every view (later openings keep what the visitor has), so the app's
    start does not wait for the test set's codes and the decoded grids."""
    filled = gr.State(False)
    everything = outputs(AllViews, vars(c))

    @user_errors
    def first_open(done, image_a, image_b, *values):
        if done:
            return True, *[gr.skip()] * (len(everything) + len(sample_outputs(c)) + 2)
        views = all_views(*read(image_a, image_b), *values, (Z1.default, Z2.default), whole_map=True)
        image, note, *_ = decode_views(values[-1], Z1.default, Z2.default)  # the decoded point starts at z = 0
        return True, *views, *sample_views("vae16", TAU.default, SEED.default), image, note

    tab.select(first_open, [filled, c.column_a.image, c.column_b.image, *controls(c)],
               [filled, *everything, *sample_outputs(c), c.point, c.point_note], **PRIVATE)
