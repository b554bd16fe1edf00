/// \file
/// Shard: this process's part of a data-parallel run, rank `index` of
/// `count`. Whatever the ranks draw at random for a joint batch (the batch's
/// samples, its noise, dropout's masks) every rank draws alike, and each keeps
/// its own slice, so that the ranks together compute what one process would.
#pragma once

#include "tinygan/core/shape.hpp"

namespace tinygan {

struct Shard {
  Index index = 0, count = 1;
};

}  // namespace tinygan
