/// \file
/// tinygan: everything in one include.
#pragma once

#include "tinygan/version.hpp"

#include "tinygan/core/atomic_file.hpp"
#include "tinygan/core/error.hpp"
#include "tinygan/core/rng.hpp"
#include "tinygan/core/shape.hpp"
#include "tinygan/core/tensor.hpp"
#include "tinygan/core/threads.hpp"

#include "tinygan/autograd/backward.hpp"
#include "tinygan/autograd/grad_mode.hpp"
#include "tinygan/autograd/var.hpp"

#include "tinygan/ops/activations.hpp"
#include "tinygan/ops/batch_norm.hpp"
#include "tinygan/ops/conv2d.hpp"
#include "tinygan/ops/conv_transpose2d.hpp"
#include "tinygan/ops/dropout.hpp"
#include "tinygan/ops/elementwise.hpp"
#include "tinygan/ops/linear.hpp"
#include "tinygan/ops/losses.hpp"
#include "tinygan/ops/matmul.hpp"
#include "tinygan/ops/reshape.hpp"

#include "tinygan/nn/activations.hpp"
#include "tinygan/nn/batch_norm.hpp"
#include "tinygan/nn/batch_norm_statistics.hpp"
#include "tinygan/nn/conv2d.hpp"
#include "tinygan/nn/conv_transpose2d.hpp"
#include "tinygan/nn/dense.hpp"
#include "tinygan/nn/dropout.hpp"
#include "tinygan/nn/initializers.hpp"
#include "tinygan/nn/conditional.hpp"
#include "tinygan/nn/module.hpp"
#include "tinygan/nn/predict.hpp"
#include "tinygan/nn/reshape.hpp"
#include "tinygan/nn/sequential.hpp"
#include "tinygan/nn/summary.hpp"

#include "tinygan/optim/adam.hpp"
#include "tinygan/optim/sgd.hpp"

#include "tinygan/data/batches.hpp"
#include "tinygan/data/idx.hpp"
#include "tinygan/data/mnist.hpp"

#include "tinygan/io/checkpoint.hpp"
#include "tinygan/io/npy.hpp"
#include "tinygan/io/plot.hpp"
#include "tinygan/io/png.hpp"
#include "tinygan/io/sample_export.hpp"
#include "tinygan/io/safetensors.hpp"
#include "tinygan/io/state_dict.hpp"

#include "tinygan/gan/classifier.hpp"
#include "tinygan/gan/divergence.hpp"
#include "tinygan/gan/metrics.hpp"
#include "tinygan/gan/recipe.hpp"
#include "tinygan/gan/sources.hpp"
#include "tinygan/gan/trainer.hpp"
