"""The VAE tab's events: what a new endpoint or path setting recomputes (in two steps), the map's decoded point,
the samples, the KL calculator, and filling every view the first time the tab is opened."""
import gradio as gr

from core.vae import latent as L
from explorers.common import combined, outputs, skipped, user_errors
from explorers.inputs import PRIVATE
from explorers.vae.dimensions import SEED, TAU, DimensionViews, dimension_views, kl_table, sample_views
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

# A new endpoint shows FirstViews in one event and LaterViews in the next: the strip comes without waiting for
# the AE-vs-VAE comparison and the traversal. Each event sends only the views its change alters (gr.skip() for the
# rest): B's code when A changes, the traversal only for A, the map's path but not its grid.
FirstViews = combined("FirstViews", EndpointViews, PathViews)
LaterViews = combined("LaterViews", CompareViews, MapViews, DimensionViews)
AllViews = combined("AllViews", FirstViews, LaterViews)


def first_views(x_a, x_b, steps_box, path: str, model: str, map_model: str, which: str = "AB") -> FirstViews:
    """What a new endpoint or path setting shows first: the codes of the endpoints in `which`, the decoded path."""
    return FirstViews(*endpoint_views(x_a, x_b, model, which), *path_views(x_a, x_b, steps_box, path, model))


def later_views(x_a, x_b, steps_box, path: str, map_model: str, point, new_a: bool = True,
                whole_map: bool = False) -> LaterViews:
    """The rest, in an event chained after first_views: AE vs VAE, the map's path (with the grid and its note too
    when `whole_map`), and the dimensions of A's code when A is new (`new_a`). The steps box already shows the
    value first_views used, so reading it again warns no second time."""
    steps = STEPS.read(steps_box).value
    if whole_map:
        views = map_views(x_a, x_b, steps, path, map_model, point)
    else:
        views = MapViews(map_value(x_a, x_b, steps, path, map_model, point), gr.skip(), gr.skip())
    dims = dimension_views(x_a) if new_a else skipped(DimensionViews)
    return LaterViews(*compare_views(x_a, x_b, steps, path), *views, *dims)


def all_views(x_a, x_b, steps_box, path: str, model: str, map_model: str) -> AllViews:
    point = (Z1.default, Z2.default)
    return AllViews(*first_views(x_a, x_b, steps_box, path, model, map_model),
                    *later_views(x_a, x_b, steps_box, path, map_model, point, whole_map=True))


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
    c.kl_go.click(user_errors(kl_table), [c.kl_mu, c.kl_logvar], c.kl_out, **PRIVATE)
    wire_first_open(c, tab)


def controls(c: Components) -> list:
    return [c.steps, c.path, c.model, c.map_model]


def sample_outputs(c: Components) -> list:
    return [c.samples, c.sample_note, c.tau, c.seed]


def wire_path(c: Components) -> None:
    """A new endpoint, steps or path: the endpoints and the path first, then the rest; a new model for the path
    changes only the first views."""
    ui = vars(c)
    both = [c.column_a.image, c.column_b.image, *controls(c)]
    first_out, later_out = outputs(FirstViews, ui), outputs(LaterViews, ui)

    def first_ui(which: str):
        return user_errors(lambda a, b, *values: first_views(*read(a, b), *values, which=which))

    def later_ui(new_a: bool):
        @user_errors
        def later(a, b, steps_box, path_kind, _model, map_model, z1_box, z2_box):
            return later_views(*read(a, b), steps_box, path_kind, map_model, pinned(z1_box, z2_box), new_a)
        return later

    new_a = c.column_a.on_new_image(first_ui("A"), [c.column_b.image, *controls(c)], first_out)
    from_b = first_ui("B")
    new_b = c.column_b.on_new_image(lambda img, a, *values: from_b(a, img, *values),
                                    [c.column_a.image, *controls(c)], first_out)
    settings = gr.on([c.steps.release, c.path.input], first_ui(""), both, first_out, trigger_mode="always_last",
                     **PRIVATE)
    c.model.input(first_ui("AB"), both, first_out, trigger_mode="always_last", **PRIVATE)
    for events, a_is_new in ((new_a, True), (new_b, False), ([settings], False)):
        for event in events:
            event.then(later_ui(a_is_new), [*both, c.z1, c.z2], later_out, **PRIVATE)


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
        views = all_views(*read(image_a, image_b), *values)
        image, note, *_ = decode_views(values[-1], Z1.default, Z2.default)  # the decoded point starts at z = 0
        return True, *views, *sample_views("vae16", TAU.default, SEED.default), image, note

    tab.select(first_open, [filled, c.column_a.image, c.column_b.image, *controls(c)],
               [filled, *everything, *sample_outputs(c), c.point, c.point_note], **PRIVATE)
