"""Asking again after an invalid answer at a prompt: the person typing ends the
recursion, not a chain of fallbacks."""


def choose(items, show_list=True):
    if show_list:
        for number, item in enumerate(items, 1):
            print(number, item)
    answer = input(f"pick 1-{len(items)} (0 to cancel): ")
    try:
        index = int(answer)
    except ValueError:
        print("not a number")
        return choose(items, False)
    if index == 0:
        return None
    return items[index - 1]
