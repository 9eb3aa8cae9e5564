"""The names of Ops' elementwise activations and of their backprops, grouped by
call signature, for the tests that loop over all of them."""

# Called as op(X); each also takes inplace=True.
PLAIN_ACTIVATIONS = (
    "sigmoid",
    "relu",
    "hard_sigmoid",
    "hard_tanh",
    "hard_swish",
    "hard_swish_mobilenet",
    "swish",
    "dish",
    "gelu",
    "gelu_approx",
    "mish",
)

# Activations with options of their own (a cap, a slope and range), which
# the loops call with those options left at their defaults.
OPTIONED_ACTIVATIONS = ("relu_k", "clipped_linear")

# Called as backprop_op(dY, X), X the activation's input.
PLAIN_BACKPROPS_FROM_INPUT = (
    "backprop_hard_sigmoid",
    "backprop_hard_tanh",
    "backprop_hard_swish",
    "backprop_hard_swish_mobilenet",
    "backprop_dish",
    "backprop_gelu",
    "backprop_gelu_approx",
    "backprop_mish",
)
