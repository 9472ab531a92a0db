//===- RuntimeCheckpointTest.cpp - A checkpoint's recorded progress -------===//

#include "runtime/train/Checkpoint.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

using namespace kiln::rt;
using ::testing::HasSubstr;

namespace {

TEST(CheckpointProgressTest, RoundTripsThroughTheMetadata) {
  CheckpointProgress p;
  p.epoch = 3, p.batch = 17, p.steps = 12345, p.lossCount = 17;
  p.lossSum = 0.1 + 0.2; // needs all 17 digits
  p.seed = 18446744073709551615ull;
  SafeTensorsFile file;
  file.metadata = progressMetadata(p);
  StatusOr<CheckpointProgress> read = readProgress(file, "c.safetensors");
  ASSERT_TRUE(read.ok()) << read.status().message();
  EXPECT_EQ(read->epoch, 3);
  EXPECT_EQ(read->batch, 17);
  EXPECT_EQ(read->steps, 12345);
  EXPECT_EQ(read->lossCount, 17);
  EXPECT_EQ(read->lossSum, 0.1 + 0.2);
  EXPECT_EQ(read->seed, 18446744073709551615ull);
}

TEST(CheckpointProgressTest, AbsentKeysReadAsZeroAndOthersAreIgnored) {
  SafeTensorsFile file;
  file.metadata = {{"format", "pt"}, {"epoch", "2"}};
  StatusOr<CheckpointProgress> read = readProgress(file, "c.safetensors");
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(read->epoch, 2);
  EXPECT_EQ(read->steps, 0);
  EXPECT_FALSE(read->seed.has_value());
}

TEST(CheckpointProgressTest, RefusesValuesThatAreNotNumbers) {
  const std::pair<const char *, const char *> bad[] = {
      {"epoch", "-1"},        {"batch", "x"},      {"steps", ""},
      {"loss_count", "1e3"},  {"seed", "-5"},      {"seed", "99999999999999999999"},
      {"loss_sum", "nan"},    {"loss_sum", "inf"}, {"loss_sum", "1.5x"},
      {"steps", "99999999999999999999"}};
  for (auto [key, value] : bad) {
    SafeTensorsFile file;
    file.metadata = {{key, value}};
    StatusOr<CheckpointProgress> read = readProgress(file, "c.safetensors");
    ASSERT_FALSE(read.ok()) << key << "=" << value;
    EXPECT_THAT(read.status().message(),
                HasSubstr(std::string("checkpoint 'c.safetensors': metadata '") +
                          key + "' is '" + value + "'"));
  }
}

} // namespace
