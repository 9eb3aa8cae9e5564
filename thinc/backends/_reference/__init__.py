"""The reference semantics of every op, one module per op family. Each family is a
mixin of plain array code; thinc.backends.ops.Ops combines them."""
