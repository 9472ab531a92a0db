//===- RuntimePlotTest.cpp - Training curves and summary ------------------===//

#include "runtime/train/Plot.h"

#include "RuntimeTestSupport.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>

using namespace kiln::rt;
using namespace kiln::rt::test;
using ::testing::HasSubstr;
using ::testing::Not;

namespace {

int count(const std::string &text, const std::string &what) {
  int n = 0;
  for (size_t at = text.find(what); at != std::string::npos;
       at = text.find(what, at + 1))
    ++n;
  return n;
}

TEST(PlotTest, ReadsTheMetricsTrainingWrites) {
  TempDir dir;
  writeBytes(dir.file("m.csv"),
             "epoch,steps,train_loss,test_loss,test_accuracy,seconds\n"
             "1,100,0.9,0.8,0.7,1.5\n2,200,0.5,0.6,0.75,3.0\n");
  StatusOr<std::vector<EpochRecord>> rows = readMetrics(dir.file("m.csv"));
  ASSERT_TRUE(rows.ok()) << rows.status().message();
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_EQ((*rows)[1].epoch, 2);
  EXPECT_EQ((*rows)[1].steps, 200);
  EXPECT_EQ((*rows)[1].testLoss, 0.6);
  EXPECT_EQ((*rows)[1].accuracy, 0.75);
  // Models without labels write nan.
  writeBytes(dir.file("nan.csv"), "1,10,0.5,0.4,nan,2.0\n");
  rows = readMetrics(dir.file("nan.csv"));
  ASSERT_TRUE(rows.ok());
  EXPECT_TRUE(std::isnan((*rows)[0].accuracy));
  writeBytes(dir.file("bad.csv"), "epoch,steps\n1,2,x\n");
  EXPECT_THAT(readMetrics(dir.file("bad.csv")).status().message(),
              HasSubstr("bad.csv', line 2: not a row of"));
}

TEST(PlotTest, DrawsLossAndAccuracyPerEpoch) {
  std::vector<EpochRecord> rows{{1, 100, 0.9, 0.8, 0.70, 1.5},
                                {2, 200, 0.5, 0.6, 0.75, 3.0},
                                {3, 300, 0.4, 0.55, 0.80, 4.5}};
  std::string svg = plotSvg(rows, "cnn <3 epochs>");
  EXPECT_EQ(svg.rfind("<svg ", 0), 0u);
  EXPECT_THAT(svg, HasSubstr("</svg>"));
  EXPECT_THAT(svg, HasSubstr("cnn &lt;3 epochs&gt;"));
  EXPECT_EQ(count(svg, "<polyline"), 3); // train, test loss; accuracy
  EXPECT_EQ(count(svg, "<circle"), 9);
  EXPECT_THAT(svg, HasSubstr("test accuracy (%)"));
  // Without labels: the loss alone.
  for (EpochRecord &r : rows)
    r.accuracy = std::nan("");
  std::string lossOnly = plotSvg(rows, "vae");
  EXPECT_EQ(count(lossOnly, "<polyline"), 2);
  EXPECT_THAT(lossOnly, Not(HasSubstr("test accuracy")));
}

TEST(PlotTest, SummarizesTheBestAndLastEpochs) {
  std::vector<EpochRecord> rows{{1, 100, 0.9, 0.8, 0.70, 61},
                                {2, 200, 0.5, 0.6, 0.85, 122},
                                {3, 300, 0.4, 0.55, 0.80, 183}};
  std::string text = summarize(rows, 5000, "test accuracy");
  EXPECT_THAT(text, HasSubstr("summary: 3 epochs, 300 steps in 3:03 (5000 "
                              "examples/s)"));
  EXPECT_THAT(text, HasSubstr("best test accuracy 85.00% at epoch 2; last "
                              "epoch 80.00%, test loss 0.5500"));
  for (EpochRecord &r : rows)
    r.accuracy = std::nan("");
  EXPECT_THAT(summarize(rows, 5000, "test accuracy"),
              HasSubstr("best test loss 0.5500 at epoch 3"));
  EXPECT_EQ(summarize({}, 0, "test accuracy"), "");
}

} // namespace
