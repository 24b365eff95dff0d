// fastaug from C++: read an image (binary PPM/PGM or .npy), augment a batch of copies with a fused geometric
// stage (each sample's chain of crop, flip and rotation one matrix, the batch one warp) and pixel stages, run a few
// single operators, write the results. Build against an installed fastaug (see CMakeLists.txt):
//   fastaug_example [input.ppm|input.pgm|input.npy] [output-folder]
// With no input it makes a synthetic 96 x 128 RGB picture, so it runs anywhere.
#include <fastaug/fastaug.hpp>

#include <cmath>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

#include "image_io.hpp"

namespace {

// A synthetic RGB picture: gradients, a disc and stripes, so that every stage changes something visible.
image_io::Array synthetic(int64_t h, int64_t w) {
  image_io::Array a{"|u1", {h, w, 3}, std::vector<unsigned char>(static_cast<size_t>(h * w * 3))};
  for (int64_t y = 0; y < h; ++y)
    for (int64_t x = 0; x < w; ++x) {
      unsigned char* p = a.data<unsigned char>() + (y * w + x) * 3;
      const bool disc = (x - w / 2) * (x - w / 2) + (y - h / 2) * (y - h / 2) < h * h / 9;
      p[0] = static_cast<unsigned char>(255 * x / w);
      p[1] = static_cast<unsigned char>(disc ? 230 : 255 * y / h);
      p[2] = static_cast<unsigned char>((x / 8) % 2 ? 200 : 40);
    }
  return a;
}

void write_batch(const std::string& stem, const std::vector<unsigned char>& pixels, int64_t n, int64_t h, int64_t w,
                 int64_t c) {
  for (int64_t i = 0; i < n; ++i) {
    const std::string path = stem + "_" + std::to_string(i) + (c == 1 ? ".pgm" : ".ppm");
    if (c == 1 || c == 3) image_io::write_pnm(path, pixels.data() + i * h * w * c, h, w, c);
  }
  image_io::write_npy(stem + ".npy", "|u1", {n, h, w, c}, pixels.data());
}

}  // namespace

int main(int argc, char** argv) try {
  const std::string out = argc > 2 ? argv[2] : ".";
  image_io::Array in = argc > 1 && argv[1][0] ? (image_io::ends_with(argv[1], ".npy") ? image_io::read_npy(argv[1])
                                                                                      : image_io::read_pnm(argv[1]))
                                              : synthetic(96, 128);
  if (in.descr != "|u1") throw std::runtime_error("expected a uint8 image, got dtype " + in.descr);
  if (in.shape.size() == 2) in.shape.push_back(1);
  if (in.shape.size() == 4 && in.shape[0] == 1) in.shape.erase(in.shape.begin());  // a batch of one
  if (in.shape.size() != 3) throw std::runtime_error("expected an (H, W), (H, W, C) or (1, H, W, C) image");
  const int64_t h = in.shape[0], w = in.shape[1], c = in.shape[2];
  std::printf("fastaug %s, %d threads, CPU target %s, CUDA: %s\n", FASTAUG_VERSION_STRING, fastaug::get_num_threads(),
              fastaug::cpu_target(), fastaug::cuda_available() ? "yes" : "no");

  // ---- a pipeline over a batch of n copies: one fused geometric warp, then colour, blur, normalize ----
  const int64_t n = 4, oh = h * 3 / 4, ow = w * 3 / 4;
  std::vector<unsigned char> batch(static_cast<size_t>(n * h * w * c));
  for (int64_t i = 0; i < n; ++i) std::copy(in.bytes.begin(), in.bytes.end(), batch.begin() + i * h * w * c);
  const fastaug::ImageView src = fastaug::ImageView::nhwc(batch.data(), fastaug::DType::UInt8, n, h, w, c);

  // Per-sample parameters, explicit (a data service would draw them from its own seeded generator): a crop of
  // three quarters resized to the output, a horizontal flip, a rotation with scale and a shift. Each sample's
  // chain is ONE matrix (fastaug::Geometry, the steps of fastaug.Compose's geometric transforms) and the batch is
  // ONE warp (fastaug::warp_fused: as Compose runs a geometric run, antialiasing any sample that shrinks 2x).
  const double angle[n] = {0, 15, -30, 90}, scale[n] = {1, 0.9, 0.6, 0.75}, shift[n] = {0, 6, -6, 0};
  const double top[n] = {0, h / 8.0, h / 4.0, h / 8.0}, left[n] = {0, w / 4.0, w / 8.0, 0};
  const bool hflip[n] = {false, true, false, true};
  std::vector<fastaug::Matrix3> matrices;
  for (int64_t i = 0; i < n; ++i) {
    fastaug::Geometry g(h, w);
    g.resized_crop(top[i], left[i], h * 0.75, w * 0.75, oh, ow).hflip(hflip[i]).affine(angle[i], shift[i], 0, scale[i]);
    matrices.push_back(g.matrix());
  }
  std::vector<unsigned char> warped(static_cast<size_t>(n * oh * ow * c)), stage(warped.size());
  const fastaug::ImageView geo = fastaug::ImageView::nhwc(warped.data(), fastaug::DType::UInt8, n, oh, ow, c);
  const fastaug::ImageView tmp = fastaug::ImageView::nhwc(stage.data(), fastaug::DType::UInt8, n, oh, ow, c);
  fastaug::WarpOptions options;
  options.border = fastaug::Border::Reflect101;
  fastaug::warp_fused(src, geo, matrices.data(), options);

  // Colour: brightness b, contrast k and saturation s folded into one C x (C + 1) matrix per sample (linear, so
  // they commute and round once): out = k * (s * x + (1 - s) * luma(x)) + b.
  const double bright[n] = {0, 20, -20, 0}, contrast[n] = {1, 1.2, 0.8, 1}, sat[n] = {1, 1.5, 0.3, 0};
  std::vector<double> colour(static_cast<size_t>(n * c * (c + 1)), 0.0);
  const double luma[3] = {0.299, 0.587, 0.114};
  for (int64_t i = 0; i < n; ++i)
    for (int64_t r = 0; r < c; ++r) {
      double* row = colour.data() + (i * c + r) * (c + 1);
      const bool rgb = c >= 3 && r < 3;
      for (int64_t k = 0; k < (c >= 3 ? 3 : c); ++k)
        row[k] = rgb ? contrast[i] * ((r == k ? sat[i] : 0) + (1 - sat[i]) * luma[k]) : (r == k ? contrast[i] : 0);
      if (c == 4 && r == 3) row[3] = 1;  // alpha untouched
      row[c] = r < 3 ? bright[i] : 0;
    }
  fastaug::color_transform(geo, tmp, colour.data());
  const double sigma[2 * n] = {0.1, 0.1, 1.0, 1.0, 0.5, 2.0, 1.5, 0.5};  // (sigma_x, sigma_y) per sample
  fastaug::gaussian_blur(tmp, geo, 5, 5, sigma, fastaug::Border::Reflect101);
  write_batch(out + "/pipeline", warped, n, oh, ow, c);

  // Normalize into an N x C x H x W float32 buffer (what a network takes) by viewing it as NHWC through strides.
  std::vector<float> chw(static_cast<size_t>(n * c * oh * ow));
  fastaug::ImageView nchw = fastaug::ImageView::nhwc(chw.data(), fastaug::DType::Float32, n, oh, ow, c);
  nchw.sc = oh * ow, nchw.sh = ow, nchw.sw = 1;  // the channel is the outer axis of each image
  const double mean[4] = {0.485, 0.456, 0.406, 0.5}, stdev[4] = {0.229, 0.224, 0.225, 0.25};
  fastaug::normalize(geo, nchw, mean, stdev, 1.0 / 255);
  image_io::write_npy(out + "/normalized_nchw.npy", "<f4", {n, c, oh, ow}, chw.data());

  // ---- single operators on the input image ----
  const fastaug::ImageView one = fastaug::ImageView::nhwc(in.bytes.data(), fastaug::DType::UInt8, 1, h, w, c);
  std::vector<unsigned char> gray(static_cast<size_t>(h * w)), edges(gray.size()), eq(gray.size());
  const auto grey_view = [&](std::vector<unsigned char>& v) {
    return fastaug::ImageView::nhwc(v.data(), fastaug::DType::UInt8, 1, h, w, 1);
  };
  fastaug::to_gray(one, grey_view(gray));
  fastaug::edges(grey_view(gray), grey_view(edges));
  fastaug::equalize(grey_view(gray), grey_view(eq));
  image_io::write_pnm(out + "/gray.pgm", gray.data(), h, w, 1);
  image_io::write_pnm(out + "/edges.pgm", edges.data(), h, w, 1);
  image_io::write_pnm(out + "/equalized.pgm", eq.data(), h, w, 1);
  std::vector<unsigned char> small(static_cast<size_t>((h / 2) * (w / 2) * c));
  fastaug::resize(one, fastaug::ImageView::nhwc(small.data(), fastaug::DType::UInt8, 1, h / 2, w / 2, c),
                  fastaug::Interp::Area);
  write_batch(out + "/half", small, 1, h / 2, w / 2, c);
  std::vector<double> means(static_cast<size_t>(c));
  fastaug::channel_mean(one, means.data());
  std::printf("channel means of the input:");
  for (double m : means) std::printf(" %.2f", m);
  std::printf("\n");

  // ---- errors: a bad argument throws std::invalid_argument (fastaug::Error) naming it, before any write ----
  try {
    fastaug::resize(one, grey_view(eq), fastaug::Interp::Linear);  // 1 channel out for c channels in
    if (c != 1) std::printf("expected an error\n");
  } catch (const std::invalid_argument& e) {
    std::printf("caught std::invalid_argument: %s\n", e.what());
  }
  std::printf("wrote %s/pipeline_*, normalized_nchw.npy, gray.pgm, edges.pgm, equalized.pgm, half_0\n", out.c_str());
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "fastaug_example: %s\n", e.what());
  return 1;
}
