// Per-pixel maths of the filters shared by every backend: kernel construction and the median.
#pragma once
#include <cmath>
#include <cstdint>

#include "../common/hd.hpp"

namespace fastaug::detail {

// cv::getGaussianKernel: OpenCV's fixed tables for ksize <= 7 when sigma <= 0, otherwise the sampled
// Gaussian (sigma <= 0 -> 0.3 * ((ksize - 1) * 0.5 - 1) + 0.8), normalised to sum 1.
inline void gaussian_kernel(int ksize, double sigma, float* out) {
  static const float k1[] = {1.f};
  static const float k3[] = {0.25f, 0.5f, 0.25f};
  static const float k5[] = {0.0625f, 0.25f, 0.375f, 0.25f, 0.0625f};
  static const float k7[] = {0.03125f, 0.109375f, 0.21875f, 0.28125f, 0.21875f, 0.109375f, 0.03125f};
  static const float* fixed[] = {k1, k3, k5, k7};
  if (sigma <= 0 && ksize <= 7 && ksize % 2 == 1) {
    for (int i = 0; i < ksize; ++i) out[i] = fixed[ksize / 2][i];
    return;
  }
  if (sigma <= 0) sigma = 0.3 * ((ksize - 1) * 0.5 - 1) + 0.8;
  const double scale = -0.5 / (sigma * sigma);
  double sum = 0, tmp[1024];
  for (int i = 0; i < ksize; ++i) {
    const double x = i - (ksize - 1) * 0.5;
    tmp[i] = std::exp(scale * x * x);
    sum += tmp[i];
  }
  for (int i = 0; i < ksize; ++i) out[i] = static_cast<float>(tmp[i] / sum);
}

// cv::getDerivKernels' integer kernel of the given derivative order and size (ksize 1, 3, 5, 7, or -1
// for Scharr), as floats.
inline void deriv_kernel(int order, int ksize, float* out) {
  if (ksize == -1) {  // Scharr: smoothing [3, 10, 3], derivative [-1, 0, 1]
    const float s[3] = {3, 10, 3}, d[3] = {-1, 0, 1};
    for (int i = 0; i < 3; ++i) out[i] = order == 0 ? s[i] : d[i];
    return;
  }
  if (ksize == 1 && order > 0) ksize = 3;
  int k[16] = {1};
  if (ksize == 1) {
    out[0] = 1;
    return;
  }
  // Binomial smoothing of size ksize - order, then `order` finite differences.
  for (int i = 0; i < ksize - order - 1; ++i) {
    int prev = k[0];
    for (int j = 1; j <= ksize; ++j) {
      const int cur = k[j] + k[j - 1];
      k[j - 1] = prev;
      prev = cur;
    }
  }
  for (int i = 0; i < order; ++i) {
    int prev = -k[0];
    for (int j = 1; j <= ksize; ++j) {
      const int cur = k[j - 1] - k[j];
      k[j - 1] = prev;
      prev = cur;
    }
  }
  for (int i = 0; i < ksize; ++i) out[i] = static_cast<float>(k[i]);
}

// Median of v[0..n) (n odd), reordering v: selection of the lower half.
template <class T>
FASTAUG_HD T median_of(T* v, int n) {
  const int mid = n / 2;
  for (int i = 0; i <= mid; ++i) {
    int best = i;
    for (int j = i + 1; j < n; ++j)
      if (v[j] < v[best]) best = j;
    const T t = v[i];
    v[i] = v[best];
    v[best] = t;
  }
  return v[mid];
}

}  // namespace fastaug::detail
