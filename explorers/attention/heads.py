"""How the Attention tab's sections name heads: one head by its number, or the average of a layer's heads."""

AVERAGE = -1  # the Head dropdown's value, and the API's head, for the average of the heads


def head_name(head: int, num_heads: int) -> str:
    return f"average of {num_heads} heads" if head == AVERAGE else f"head {head}"


def head_choices(num_heads: int) -> list[tuple[str, int]]:
    return [(head_name(AVERAGE, num_heads), AVERAGE), *single_heads(num_heads)]


def single_heads(num_heads: int) -> list[tuple[str, int]]:
    return [(f"head {h}", h) for h in range(num_heads)]
