//===- RuntimeTextDatasetTest.cpp - Examples from plain text files --------===//

#include "RuntimeTestSupport.h"

#include "kiln/runtime/Training.h"

namespace kiln::rt {
namespace {

using test::failsWith;
using test::TempDir;
using test::writeBytes;

TEST(TextDatasetTest, ReadsLabelsAndValuesWithHeaderCommentsAndBlankLines) {
  TempDir dir;
  writeBytes(dir.file("d.csv"), "label,a,b,c,d\n"
                                "# a comment line\n"
                                "1, 0.5, 0.25, 0, 1   # trailing comment\n"
                                "\n"
                                "0\t-1 2e-1 3 4\r\n");
  StatusOr<Dataset> data = loadTextDataset(dir.file("d.csv"), {1, 2, 2}, 2);
  ASSERT_TRUE(data.ok()) << data.status().message();
  const Dataset &d = data.value();
  ASSERT_EQ(d.size(), 2);
  EXPECT_EQ(d.images.shape(), (std::vector<int64_t>{2, 1, 2, 2}));
  EXPECT_EQ(d.labels.data<int64_t>()[0], 1);
  EXPECT_EQ(d.labels.data<int64_t>()[1], 0);
  const float *x = d.images.data<float>();
  std::vector<float> expected{0.5f, 0.25f, 0, 1, -1, 0.2f, 3, 4};
  for (size_t i = 0; i < expected.size(); ++i)
    EXPECT_FLOAT_EQ(x[i], expected[i]) << "value " << i;
  EXPECT_EQ(d.note, ""); // Negative values: not pixels, not scaled.
}

TEST(TextDatasetTest, ScalesEightBitPixels) {
  TempDir dir;
  writeBytes(dir.file("p.txt"), "3 0 255 51 102\n");
  StatusOr<Dataset> data = loadTextDataset(dir.file("p.txt"), {4}, 10);
  ASSERT_TRUE(data.ok()) << data.status().message();
  EXPECT_FLOAT_EQ(data.value().images.data<float>()[1], 1.0f);
  EXPECT_FLOAT_EQ(data.value().images.data<float>()[2], 0.2f);
  EXPECT_EQ(data.value().note, "values 0-255, scaled by 1/255");
}

TEST(TextDatasetErrorTest, NamesTheFileAndLine) {
  TempDir dir;
  std::string path = dir.file("bad.csv");
  auto load = [&](const std::string &text) {
    writeBytes(path, text);
    return loadTextDataset(path, {3}, 10).status();
  };
  EXPECT_TRUE(failsWith(load("1 1 2 3\n2 1 2\n"),
                        "'" + path + "', line 2: expected a label and 3 "
                        "values (the model's [3] example), got 2 values"));
  EXPECT_TRUE(failsWith(load("1 1 2 3 4\n"), "line 1: expected a label and 3 "
                                             "values (the model's [3] "
                                             "example), got 4 values"));
  EXPECT_TRUE(failsWith(load("1 1 x 3\n"),
                        "line 1: value 2, 'x', is not a finite float32 number"));
  EXPECT_TRUE(failsWith(load("1 1 nan 3\n"),
                        "line 1: value 2, 'nan', is not a finite float32 number"));
  EXPECT_TRUE(failsWith(load("10 1 2 3\n"),
                        "line 1: label 10 is not a class of the model (0-9)"));
  EXPECT_TRUE(failsWith(load("1.5 1 2 3\n"), "label 1.5 is not a class"));
  EXPECT_TRUE(failsWith(load("-1 1 2 3\n"), "label -1 is not a class"));
  EXPECT_TRUE(failsWith(load("1 1 2 3\ncat 1 2 3\n"),
                        "line 2: the label 'cat' is not a number"));
  // A first line with a non-numeric label but numeric values is an error,
  // not a header.
  EXPECT_TRUE(failsWith(load("cat 1 2 3\n1 1 2 3\n"),
                        "line 1: the label 'cat' is not a number"));
  EXPECT_TRUE(failsWith(load("1 1 1e39 3\n"),
                        "value 2, '1e39', is not a finite float32 number"));
  EXPECT_TRUE(failsWith(load("label,a,b,c\n"), "holds no examples"));
  EXPECT_TRUE(failsWith(load(""), "holds no examples"));
  EXPECT_TRUE(failsWith(loadTextDataset(dir.file("none.csv"), {3}, 10).status(),
                        "cannot open '" + dir.file("none.csv") + "'"));
}

} // namespace
} // namespace kiln::rt
