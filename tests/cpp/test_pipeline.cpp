// The fused-geometry pipeline (fastaug/pipeline.hpp) against Python's Compose: the cases of
// tests/cpp_pipeline_cases.py give each sample's drawn parameters as Geometry steps, and Compose's images. Every
// sample's chain is rebuilt here, run through warp_fused (dense or ragged, with Compose's antialiasing) and must
// give Python's bits. Then the Geometry steps' matrices on their own, and the errors.
#include <gtest/gtest.h>
#include <fastaug/fastaug.hpp>

#include <cmath>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "image_io.hpp"

namespace {

using image_io::Array;

std::string data_path(const std::string& file) { return std::string(FASTAUG_TEST_DATA) + "/pipeline/" + file; }

struct PipelineCase {
  std::string name;
  int ragged = 0, n = 0, interp = 0, border = 0, antialias = 1;
  double fill[4] = {0, 0, 0, 0};
};

std::vector<PipelineCase> read_cases() {
  std::ifstream f(data_path("cases.txt"));
  std::vector<PipelineCase> cases;
  for (PipelineCase c; f >> c.name >> c.ragged >> c.n >> c.interp >> c.border >> c.antialias;) {
    for (double& v : c.fill) f >> v;
    cases.push_back(c);
  }
  return cases;
}

fastaug::DType dtype_of(const Array& a) { return a.descr == "|u1" ? fastaug::DType::UInt8 : fastaug::DType::Float32; }

// Sample n's chain: each line of <case>.steps.txt is a Geometry method with its fixed arguments; row n of
// <case>.step<k>.npy holds its per-sample ones.
fastaug::Geometry chain(const PipelineCase& c, int64_t n, int64_t h, int64_t w) {
  fastaug::Geometry g(h, w);
  std::ifstream f(data_path(c.name + ".steps.txt"));
  std::string line;
  for (int k = 0; std::getline(f, line); ++k) {
    const Array args = image_io::read_npy(data_path(c.name + ".step" + std::to_string(k) + ".npy"));
    const double* a = args.data<double>() + n * (args.shape.size() > 1 ? args.shape[1] : 0);
    std::istringstream in(line);
    std::string step;
    int64_t i0 = 0, i1 = 0, i2 = 0, i3 = 0;
    in >> step >> i0 >> i1 >> i2 >> i3;
    if (step == "resize") {
      g.resize(i0, i1);
    } else if (step == "resize_shorter") {
      g.resize_shorter(i0);
    } else if (step == "center_crop") {
      g.center_crop(i0, i1);
    } else if (step == "crop") {
      g.crop(a[0], a[1], i0, i1);
    } else if (step == "resized_crop") {
      g.resized_crop(a[0], a[1], a[2], a[3], i0, i1);
    } else if (step == "pad") {
      g.pad(i0, i1, i2, i3);
    } else if (step == "hflip") {
      g.hflip(a[0] != 0);
    } else if (step == "vflip") {
      g.vflip(a[0] != 0);
    } else if (step == "rotate90") {
      g.rotate90(static_cast<int64_t>(a[0]));
    } else if (step == "affine") {
      g.affine(a[0], a[1], a[2], a[3], a[4], a[5]);
    } else if (step == "perspective") {
      g.perspective(a);
    } else {
      ADD_FAILURE() << c.name << ": unknown step " << step;
    }
  }
  return g;
}

class Pipeline : public testing::TestWithParam<PipelineCase> {};

TEST_P(Pipeline, WarpFusedEqualsCompose) {
  const PipelineCase& c = GetParam();
  std::vector<Array> inputs;
  for (int i = 0; i < c.n; ++i)
    inputs.push_back(image_io::read_npy(data_path(c.name + ".input" + std::to_string(i) + ".npy")));
  const Array want = image_io::read_npy(data_path(c.name + ".out.npy"));
  ASSERT_EQ(want.shape.size(), 4u);
  std::vector<fastaug::Matrix3> matrices;
  std::vector<fastaug::RaggedImage> images;
  for (int i = 0; i < c.n; ++i) {
    const Array& in = inputs[i];
    // a dense case stores its batch's samples one by one: each (H, W, C)
    const int64_t h = in.shape[0], w = in.shape[1], ch = in.shape[2];
    const fastaug::Geometry g = chain(c, i, h, w);
    EXPECT_EQ(g.height(), want.shape[1]) << c.name << ": sample " << i;
    EXPECT_EQ(g.width(), want.shape[2]) << c.name << ": sample " << i;
    matrices.push_back(g.matrix());
    fastaug::RaggedImage r;
    r.data = const_cast<unsigned char*>(in.bytes.data());
    r.h = h, r.w = w, r.sw = ch, r.sc = 1, r.sh = w * ch;
    images.push_back(r);
  }
  fastaug::WarpOptions options;
  options.interp = static_cast<fastaug::Interp>(c.interp);
  options.border = static_cast<fastaug::Border>(c.border);
  options.antialias = c.antialias != 0;
  std::copy(c.fill, c.fill + 4, options.fill);
  std::vector<unsigned char> out(want.bytes.size(), 0xAB);
  const auto& s = want.shape;
  const fastaug::ImageView dst = fastaug::ImageView::nhwc(out.data(), dtype_of(want), s[0], s[1], s[2], s[3]);
  std::vector<unsigned char> batch;  // a dense case: its samples as one batch (the ImageView overload)
  if (c.ragged) {
    fastaug::RaggedView src;
    src.images = images.data(), src.n = c.n, src.c = s[3], src.dtype = dtype_of(want);
    fastaug::warp_fused(src, dst, matrices.data(), options);
  } else {
    for (const Array& in : inputs) batch.insert(batch.end(), in.bytes.begin(), in.bytes.end());
    const auto& t = inputs[0].shape;
    const fastaug::ImageView src = fastaug::ImageView::nhwc(batch.data(), dtype_of(want), c.n, t[0], t[1], t[2]);
    fastaug::warp_fused(src, dst, matrices.data(), options);
  }
  const size_t elem = image_io::descr_size(want.descr);
  size_t differ = 0, first = 0;
  for (size_t i = 0; i < want.bytes.size() / elem; ++i)
    if (std::memcmp(want.bytes.data() + i * elem, out.data() + i * elem, elem) != 0 && differ++ == 0) first = i;
  EXPECT_EQ(differ, 0u) << c.name << ": " << differ << " of " << want.bytes.size() / elem
                        << " values differ from Compose's, the first at element " << first;
}

INSTANTIATE_TEST_SUITE_P(Cases, Pipeline, testing::ValuesIn(read_cases()),
                         [](const testing::TestParamInfo<PipelineCase>& info) { return info.param.name; });

TEST(PipelineCases, AllRead) { EXPECT_GE(read_cases().size(), 4u) << "run tests/cpp_pipeline_cases.py"; }

// Maps a point (x, y) through a forward matrix.
void map_point(const fastaug::Matrix3& m, double x, double y, double& u, double& v) {
  const double z = m.m[6] * x + m.m[7] * y + m.m[8];
  u = (m.m[0] * x + m.m[1] * y + m.m[2]) / z;
  v = (m.m[3] * x + m.m[4] * y + m.m[5]) / z;
}

TEST(Geometry, StepsMoveCornersAsTheTransformsDo) {
  double u, v;
  // a horizontal flip of a 10-wide canvas: column 0 -> 9
  fastaug::Geometry flip(4, 10);
  flip.hflip();
  map_point(flip.matrix(), 0, 1, u, v);
  EXPECT_DOUBLE_EQ(u, 9);
  EXPECT_DOUBLE_EQ(v, 1);
  // a quarter turn counter-clockwise of 4 x 10 (h x w): 10 x 4, the top-right pixel to the top-left
  fastaug::Geometry turn(4, 10);
  turn.rotate90(1);
  EXPECT_EQ(turn.height(), 10);
  EXPECT_EQ(turn.width(), 4);
  map_point(turn.matrix(), 9, 0, u, v);
  EXPECT_DOUBLE_EQ(u, 0);
  EXPECT_DOUBLE_EQ(v, 0);
  // rotate90(-1) is rotate90(3)
  fastaug::Geometry back(4, 10);
  back.rotate90(-1);
  for (int k = 0; k < 9; ++k) EXPECT_DOUBLE_EQ(back.matrix().m[k], fastaug::Geometry(4, 10).rotate90(3).matrix().m[k]);
  // a crop then a resize: the crop's corners land on the output's (pixel edges: cv2.resize's mapping)
  fastaug::Geometry crop(100, 200);
  crop.resized_crop(10, 20, 50, 80, 25, 40);
  map_point(crop.matrix(), 20 - 0.5, 10 - 0.5, u, v);
  EXPECT_NEAR(u, -0.5, 1e-12);
  EXPECT_NEAR(v, -0.5, 1e-12);
  map_point(crop.matrix(), 100 - 0.5, 60 - 0.5, u, v);
  EXPECT_NEAR(u, 39.5, 1e-12);
  EXPECT_NEAR(v, 24.5, 1e-12);
  // the shorter side: 300 x 400 -> 224 x int(224 * 400 / 300) = 224 x 298
  fastaug::Geometry shorter(300, 400);
  shorter.resize_shorter(224);
  EXPECT_EQ(shorter.height(), 224);
  EXPECT_EQ(shorter.width(), 298);
  // an affine rotation keeps the centre; a perspective with no offsets is the identity
  fastaug::Geometry spin(9, 13);
  spin.affine(33, 0, 0);
  map_point(spin.matrix(), 6, 4, u, v);
  EXPECT_NEAR(u, 6, 1e-12);
  EXPECT_NEAR(v, 4, 1e-12);
  EXPECT_TRUE(spin.matrix().is_affine());
  const double zero[8] = {};
  fastaug::Geometry still(9, 13);
  still.perspective(zero);
  for (int k = 0; k < 9; ++k) EXPECT_NEAR(still.matrix().m[k], k % 4 == 0 ? 1 : 0, 1e-12);
  const double moved[8] = {1, 0.5, 0, 0, 2, 1, 0, 0};
  EXPECT_FALSE(fastaug::Geometry(9, 13).perspective(moved).matrix().is_affine());
  // pad then centre crop back: the identity
  fastaug::Geometry pad(8, 8);
  pad.pad(2, 2, 2, 2).center_crop(8, 8);
  for (int k = 0; k < 9; ++k) EXPECT_DOUBLE_EQ(pad.matrix().m[k], k % 4 == 0 ? 1 : 0);
}

TEST(Geometry, BadArgumentsThrowNamingThem) {
  auto message = [](auto&& f) -> std::string {
    try {
      f();
    } catch (const std::invalid_argument& e) {
      return e.what();
    }
    return "(no error)";
  };
  EXPECT_NE(message([] { fastaug::Geometry(0, 5); }).find("positive"), std::string::npos);
  EXPECT_NE(message([] { fastaug::Geometry(5, 5).resize(3, -1); }).find("resize"), std::string::npos);
  EXPECT_NE(message([] { fastaug::Geometry(5, 5).affine(NAN, 0, 0); }).find("angle"), std::string::npos);
  EXPECT_NE(message([] { fastaug::Geometry(5, 5).resized_crop(0, 0, 0, 3, 4, 4); }).find("crop size"),
            std::string::npos);
  EXPECT_NE(message([] { fastaug::Geometry(5, 5).pad(-1, 0, 0, 0); }).find("padding"), std::string::npos);
  EXPECT_NE(message([] {
              const double all[8] = {4, 4, 4, 4, 4, 4, 4, 4};  // every corner inwards to the centre
              fastaug::Geometry(9, 9).perspective(all);
            }).find("degenerate"),
            std::string::npos);
  unsigned char pixels[2 * 4 * 4 * 3] = {};
  const fastaug::ImageView src = fastaug::ImageView::nhwc(pixels, fastaug::DType::UInt8, 2, 4, 4, 3);
  const fastaug::ImageView one = fastaug::ImageView::nhwc(pixels, fastaug::DType::UInt8, 1, 4, 4, 3);
  fastaug::Matrix3 m[2];
  EXPECT_NE(message([&] { fastaug::warp_fused(src, one, m); }).find("dst: expected 2 images"), std::string::npos);
  EXPECT_NE(message([&] { fastaug::warp_fused(src, src, nullptr); }).find("matrices"), std::string::npos);
  m[1].m[2] = INFINITY;
  EXPECT_NE(message([&] { fastaug::warp_fused(src, src, m); }).find("matrices[1]"), std::string::npos);
  m[1].m[2] = 0;
  fastaug::WarpOptions area;
  area.interp = fastaug::Interp::Area;
  EXPECT_NE(message([&] { fastaug::warp_fused(src, src, m, area); }).find("options.interp"), std::string::npos);
  // a CUDA batch that antialiasing would reduce (a 4x shrink): refused before any pixel is read
  fastaug::ImageView gpu = src;
  gpu.device = fastaug::Device::CUDA;
  fastaug::Matrix3 shrink[2];
  for (auto& s : shrink) s = fastaug::Geometry(4, 4).resize(1, 1).matrix();
  const fastaug::ImageView tiny = fastaug::ImageView::nhwc(pixels, fastaug::DType::UInt8, 2, 1, 1, 3);
  fastaug::ImageView tiny_gpu = tiny;
  tiny_gpu.device = fastaug::Device::CUDA;
  EXPECT_NE(message([&] { fastaug::warp_fused(gpu, tiny_gpu, shrink); }).find("antialias = false"), std::string::npos);
}

}  // namespace
