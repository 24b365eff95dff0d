// Per-pixel maths of the filters shared by every backend: kernel construction and the median.
#pragma once
#include <cmath>
#include <cstdint>

#include "../common/hd.hpp"
#include "../common/saturate.hpp"

namespace fastaug::detail {

// cv::getGaussianKernel, as OpenCV computes it (getGaussianKernelBitExact, here in double): the
// binomial tables for ksize <= 9 when sigma <= 0, otherwise exp(-x^2 / (2 sigma^2)) at
// x = i - (ksize - 1) / 2 (sigma <= 0 -> 0.15 * ksize + 0.35, one rounding), normalised so that the
// centre is 1 / sum and each side value is its exp / sum. ksize is odd.
inline void gaussian_kernel_double(int ksize, double sigma, double* out) {
  static const double k1[] = {256}, k3[] = {64, 128, 64}, k5[] = {16, 64, 96, 64, 16},
                      k7[] = {8, 28, 56, 72, 56, 28, 8}, k9[] = {4, 13, 30, 51, 60, 51, 30, 13, 4};
  static const double* tables[] = {k1, k3, k5, k7, k9};
  if (sigma <= 0 && ksize <= 9 && ksize % 2 == 1) {
    for (int i = 0; i < ksize; ++i) out[i] = tables[ksize / 2][i] / 256;
    return;
  }
  if (sigma <= 0) sigma = std::fma(static_cast<double>(ksize), 0.15, 0.35);
  const double scale = -0.125 / (sigma * sigma);  // x below is twice the offset from the centre
  const int half = (ksize - 1) / 2;
  double sum = 0;
  for (int i = 0, x = 1 - ksize; i < half; ++i, x += 2) {
    out[i] = std::exp(static_cast<double>(x * x) * scale);
    sum += out[i];
  }
  sum = sum * 2 + 1;
  const double mul = 1 / sum;
  for (int i = 0; i < half; ++i) out[ksize - 1 - i] = out[i] = out[i] * mul;
  out[half] = mul;
}

// The float32 kernel: OpenCV's, rounded to float as cv::getGaussianKernel(..., CV_32F) does.
inline void gaussian_kernel(int ksize, double sigma, float* out) {
  double k[256];
  gaussian_kernel_double(ksize, sigma, k);
  for (int i = 0; i < ksize; ++i) out[i] = static_cast<float>(k[i]);
}

// The 8-bit kernel of cv::GaussianBlur on uint8 (odd ksize): OpenCV's kernel in fixed point with 8
// fraction bits, rounded from the outside in with the rounding error carried to the next tap
// (getGaussianKernelFixedPoint_ED); the centre takes the rest, so the taps sum to exactly 256. Every
// tap is >= 0, so a row pass over uint8 stays <= 255 * 256 and fits uint16.
inline void gaussian_kernel_q8(int ksize, double sigma, uint16_t* out) {
  double k[256];
  gaussian_kernel_double(ksize, sigma, k);
  const int half = ksize / 2;
  double err = 0;
  int sum = 0;
  for (int i = 0; i < half; ++i) {
    const double v = k[i] * 256 + err;
    const double r = std::nearbyint(v);  // cvRound: to nearest, ties to even
    err = v - r;
    out[i] = out[ksize - 1 - i] = static_cast<uint16_t>(r);
    sum += static_cast<int>(r);
  }
  out[half] = static_cast<uint16_t>(256 - 2 * sum);
}

// The 8-bit Gaussian's result: the column pass sums ky (8 fraction bits) times row sums (8 fraction
// bits), <= 255 << 16; round half up to an integer as ufixedpoint32's cast to uint8 does.
FASTAUG_HD uint8_t round_q16(uint32_t acc) { return static_cast<uint8_t>((acc + 32768u) >> 16); }

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

// cv::blur's normalised window sum: exact integer sums for uint8, scaled in float and rounded half to even
// (OpenCV's result for odd kernel sizes, bit for bit; even sizes within 1); for float32, sums in double
// (OpenCV's sum type) taken row by row, scaled in double.
template <class T>
struct BoxSum {
  using type = int32_t;
  using scale = float;
};
template <>
struct BoxSum<float> {
  using type = double;
  using scale = double;
};
FASTAUG_HD uint8_t box_value(int32_t sum, float inv_area) { return round_mean_u8(static_cast<float>(sum) * inv_area); }
FASTAUG_HD float box_value(double sum, double inv_area) { return static_cast<float>(sum * inv_area); }

template <class T>
FASTAUG_HD typename BoxSum<T>::scale box_inv_area(int kh, int kw) {
  return static_cast<typename BoxSum<T>::scale>(1) / static_cast<typename BoxSum<T>::scale>(kh * kw);
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
