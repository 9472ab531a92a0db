//===- RuntimePngTest.cpp - PNG grids, read back with libpng --------------===//

#include "runtime/io/Png.h"

#include "RuntimeTestSupport.h"

#include <png.h>

#include <cmath>
#include <filesystem>
#include <limits>
#include <vector>

using namespace kiln::rt;

namespace {

/// The greyscale pixels of a PNG file, as libpng decodes it.
struct Decoded {
  uint32_t width = 0, height = 0;
  std::vector<uint8_t> pixels;
};

bool decode(const std::string &path, Decoded &out) {
  png_image image{};
  image.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_file(&image, path.c_str()))
    return false;
  image.format = PNG_FORMAT_GRAY;
  out.width = image.width;
  out.height = image.height;
  out.pixels.resize(PNG_IMAGE_SIZE(image));
  return png_image_finish_read(&image, nullptr, out.pixels.data(), 0,
                               nullptr) != 0;
}

TEST(Png, GridPlacesClampsAndReadsBack) {
  test::TempDir dir;
  // Three 2x3 images: a ramp, values outside [0, 1], NaN.
  HostTensor images = HostTensor::zeros(DType::F32, {3, 1, 2, 3}).value();
  float *v = images.data<float>();
  for (int i = 0; i < 6; ++i)
    v[i] = i / 5.0f;
  v[6] = -1.0f;
  v[7] = 2.0f;
  v[12] = std::numeric_limits<float>::quiet_NaN();
  std::string path = dir.path() + "/grid.png";
  Status s = io::writePngGrid(path, images, 2);
  ASSERT_TRUE(s.ok()) << s.message();
  Decoded png;
  ASSERT_TRUE(decode(path, png));
  // 2 columns, 2 rows of cells 3 wide and 2 high, 2 pixels apart.
  EXPECT_EQ(png.width, 2u * (3 + 2) + 2);
  EXPECT_EQ(png.height, 2u * (2 + 2) + 2);
  auto at = [&](uint32_t x, uint32_t y) { return png.pixels[y * png.width + x]; };
  EXPECT_EQ(at(0, 0), 0);           // border
  EXPECT_EQ(at(2, 2), 0);           // image 0, value 0
  EXPECT_EQ(at(4, 2), 102);         // image 0, value 0.4
  EXPECT_EQ(at(4, 3), 255);         // image 0, value 1
  EXPECT_EQ(at(7, 2), 0);           // image 1, -1 clamped
  EXPECT_EQ(at(8, 2), 255);         // image 1, 2 clamped
  EXPECT_EQ(at(2, 6), 0);           // image 2, NaN black
  EXPECT_EQ(at(7, 6), 0);           // the empty fourth cell
}

TEST(Png, BadShapesAndFoldersAreErrorsThatWriteNothing) {
  test::TempDir dir;
  HostTensor colour = HostTensor::zeros(DType::F32, {2, 3, 4, 4}).value();
  Status s = io::writePngGrid(dir.path() + "/colour.png", colour);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("greyscale images [N, 1, H, W]"), std::string::npos)
      << s.message();
  EXPECT_FALSE(std::filesystem::exists(dir.path() + "/colour.png"));
  HostTensor grey = HostTensor::zeros(DType::F64, {1, 1, 4, 4}).value();
  std::string missing = dir.path() + "/missing/grid.png";
  s = io::writePngGrid(missing, grey);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find(missing), std::string::npos) << s.message();
  EXPECT_TRUE(std::filesystem::is_empty(dir.path()));
}

} // namespace
