"""Late replies never wipe a newer message: the rule of app.messages."""

from __future__ import annotations

from app.messages import MessageOrder


def test_an_edit_replying_after_a_button_keeps_quiet() -> None:
    order = MessageOrder()
    edit = order.ticket()  # "duration" edited: its handler starts ...
    assert order.may_say(order.ticket(), background=False)  # ... Export is pressed and refuses at once
    assert not order.may_say(edit, background=True), "the edit's late 'Timeline: …' would hide Export's refusal"


def test_replies_in_order_all_speak_and_buttons_always_do() -> None:
    order = MessageOrder()
    first, second = order.ticket(), order.ticket()
    assert order.may_say(first, background=True) and order.may_say(second, background=True)
    later_edit = order.ticket()
    assert order.may_say(order.ticket(), background=False)
    assert order.may_say(later_edit - 1, background=False), "a button's reply is never held back"
    assert order.may_say(order.ticket(), background=True), "a reply started after the last message speaks"
