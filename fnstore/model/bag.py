"""Bagged models: several trained members averaged into one Keras model.

FactorNet bagged models trained from different seeds; a bag is steadier than any one
member, whose score depends on its initialisation and its draw of negatives. The bag is an
ordinary Keras model (members nested as sub-models named ``member_<i>``, outputs averaged
by a layer named :data:`BAG_LAYER`), so it saves as one ``model.keras`` that any Keras
user can load, and fnstore's fast scorer scores each member on its own fast path and
averages (:func:`bag_members` finds them).
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
from keras import layers

from fnstore.errors import InputError

#: name of the layer that averages the members' outputs
BAG_LAYER = "bag_average"
#: members are named ``member_0``, ``member_1``, ...
MEMBER_PREFIX = "member_"


def member_name(i: int) -> str:
    """The Keras name of member ``i`` (give it to :func:`~fnstore.model.build_model`).

    Parameters
    ----------
    i
        Member index.

    Returns
    -------
    str
        ``member_<i>``.
    """
    return f"{MEMBER_PREFIX}{i}"


def bag_models(members: Sequence[keras.Model], name: str = "factornet_bag") -> keras.Model:
    """One model whose output is the mean of the members' outputs.

    Parameters
    ----------
    members
        Models with the same inputs and outputs, named by :func:`member_name` in order.
    name
        The bag's Keras name.

    Returns
    -------
    keras.Model
        Inputs named like the first member's (``x`` and, if present, ``extra``).
    """
    if len(members) < 2:
        raise InputError("--seeds", "a bag needs at least two members")
    first = members[0]
    inputs = [keras.Input(shape=t.shape[1:], name=t.name.split(":")[0]) for t in first.inputs]
    feed = inputs if len(inputs) > 1 else inputs[0]
    out = layers.Average(name=BAG_LAYER)([m(feed) for m in members])
    return keras.Model(inputs=feed, outputs=out, name=name)


def bag_members(model: keras.Model) -> list[keras.Model]:
    """The members of a bag built by :func:`bag_models`, in order; empty for any other model.

    Parameters
    ----------
    model
        Any Keras model.

    Returns
    -------
    list of keras.Model
        The nested member models.
    """
    names = {layer.name for layer in model.layers}
    if BAG_LAYER not in names:
        return []
    members = [
        layer
        for layer in model.layers
        if isinstance(layer, keras.Model) and layer.name.startswith(MEMBER_PREFIX)
    ]
    return sorted(members, key=lambda m: int(m.name[len(MEMBER_PREFIX) :]))
