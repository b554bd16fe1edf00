/// \file
/// conv2d's two gradients as ops of their own, so that a gradient through a
/// convolution (or a transposed one) is itself a graph that can be
/// differentiated again. Each is bilinear in its two inputs, and the backward
/// of each is made of conv2d and the other: the set is closed under
/// differentiation. They run on the plain per-sample kernels (sample_conv.hpp),
/// not the per-tap or Winograd ones: this is the second-order path only.
#pragma once

#include "tinygan/autograd/var.hpp"
#include "tinygan/ops/conv2d.hpp"
#include "tinygan/ops/sample_conv.hpp"

namespace tinygan {

namespace detail {
inline ConvGeometry geometry_of(const Shape& image, Index kernel_h, Index kernel_w, Index stride, Index padding,
                                const Shape& grad) {
  const auto g = ConvGeometry::of(image[0], image[1], image[2], image[3], kernel_h, kernel_w, stride, padding);
  check(g.fits() && grad.rank() == 4 && grad[0] == g.batch && grad[2] == g.out_h && grad[3] == g.out_w,
        "conv2d gradient: an output gradient ", grad, " does not fit image ", image, " under a ", kernel_h, "x", kernel_w,
        " kernel, stride ", stride, ", padding ", padding);
  return g;
}
}  // namespace detail

/// d conv2d(x, w) / dx, sent back from dy [N, OC, OH, OW] with weight w
/// [OC, C, kh, kw] to an image of `image` shape [N, C, H, W].
template <class T>
Var<T> conv2d_input_grad(const Var<T>& dy, const Var<T>& weight, const Shape& image, Index stride, Index padding) {
  const Shape& ws = weight.shape();
  check(ws.rank() == 4 && image.rank() == 4 && ws[1] == image[1] && dy.shape().rank() == 4 && dy.shape()[1] == ws[0],
        "conv2d_input_grad: weight ", ws, " does not join gradient ", dy.shape(), " to image ", image);
  const auto g = detail::geometry_of(image, ws[2], ws[3], stride, padding, dy.shape());
  Tensor<T> out(image);
  sample_conv_input_grad(dy.value().data(), weight.value().data(), g, ws[0], out.data());
  return make_result<T>(std::move(out), "conv2d_input_grad", {dy, weight}, [stride, padding](GradGraph<T>& r) {
    if (r.needs(0)) r.add(0, conv2d(r.grad(), r.input(1), Var<T>(), stride, padding));
    if (r.needs(1))
      r.add(1, conv2d_weight_grad(r.grad(), r.input(0), r.input_value(1).shape()[2], r.input_value(1).shape()[3],
                                  stride, padding));
  });
}

/// d conv2d(x, w) / dw [OC, C, kh, kw] for image x [N, C, H, W] and output gradient dy [N, OC, OH, OW].
template <class T>
Var<T> conv2d_weight_grad(const Var<T>& x, const Var<T>& dy, Index kernel_h, Index kernel_w, Index stride,
                          Index padding) {
  check(x.shape().rank() == 4, "conv2d_weight_grad: expected an image [N, C, H, W], found ", x.shape());
  const auto g = detail::geometry_of(x.shape(), kernel_h, kernel_w, stride, padding, dy.shape());
  const Index out_channels = dy.shape()[1];
  Tensor<T> out(Shape{out_channels, g.channels, kernel_h, kernel_w});
  sample_conv_backward(x.value().data(), static_cast<const T*>(nullptr), dy.value().data(), g, out_channels,
                       out.data(), static_cast<T*>(nullptr), static_cast<T*>(nullptr));
  return make_result<T>(std::move(out), "conv2d_weight_grad", {x, dy}, [stride, padding](GradGraph<T>& r) {
    if (r.needs(0)) r.add(0, conv2d_input_grad(r.input(1), r.grad(), r.input_value(0).shape(), stride, padding));
    if (r.needs(1)) r.add(1, conv2d(r.input(0), r.grad(), Var<T>(), stride, padding));
  });
}

}  // namespace tinygan
