"""The array namespaces, where plugins have always found them (``from harness.namespaces import
namespace``): the definitions are :mod:`harness.model.namespaces`'s."""

from harness.model.namespaces import *  # noqa: F403
