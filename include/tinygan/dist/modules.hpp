/// \file
/// Whole modules across the ranks of a data-parallel run: one set of starting
/// weights for all, and BatchNorm synchronized over the joint batch.
#pragma once

#include "tinygan/dist/communicator.hpp"
#include "tinygan/nn/batch_norm.hpp"
#include "tinygan/nn/dropout.hpp"
#include "tinygan/nn/module.hpp"

namespace tinygan::dist {

/// Copies root's parameters and buffers into every rank's module, so that
/// all ranks start from the same weights whatever their seeds. One message
/// per tensor: this runs once, before training.
template <class T>
void broadcast_module(Communicator& comm, nn::Module<T>& module, int root = 0) {
  for (auto named : {module.named_parameters(), module.named_buffers()})
    for (auto& [name, v] : named) comm.broadcast(v.value().data(), v.numel(), "the weight broadcast", root);
}

/// Gives every Dropout in module rank 0's mask stream and this rank's slice
/// of the joint batch's masks: the ranks' masks then differ as one process's
/// would over the joint batch. Returns how many.
template <class T>
int shard_dropout(Communicator& comm, nn::Module<T>& module) {
  int count = 0;
  module.visit([&](nn::Module<T>& m) {
    if (auto* dropout = dynamic_cast<nn::Dropout<T>*>(&m)) {
      auto state = dropout->rng().state();
      comm.broadcast(state.data(), static_cast<Index>(state.size()), "the dropout stream broadcast");
      dropout->rng().set_state(state);
      dropout->set_shard(Shard{comm.rank(), comm.size()});
      ++count;
    }
  });
  return count;
}

/// Makes every BatchNorm in module take its training statistics over the
/// joint batch of all ranks (PyTorch's SyncBatchNorm); returns how many.
/// comm must outlive the module's use.
template <class T>
int synchronize_batch_norm(Communicator& comm, nn::Module<T>& module) {
  int count = 0;
  module.visit([&](nn::Module<T>& m) {
    if (auto* bn = dynamic_cast<nn::BatchNorm<T>*>(&m)) {
      bn->set_cross_replica_sum([&comm](double* values, Index n) { comm.sum(values, n, "synchronized BatchNorm"); });
      ++count;
    }
  });
  return count;
}

}  // namespace tinygan::dist
