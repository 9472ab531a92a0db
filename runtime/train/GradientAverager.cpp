//===- GradientAverager.cpp - Gradients averaged across ranks, overlapped -===//

#include "train/GradientAverager.h"
#include "train/Support.h"

#include "kiln/runtime/Numerics.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <numeric>

namespace kiln::rt {
namespace {

/// Divides a float tensor by `ranks`.
void divide(HostTensor &t, int ranks) {
  int64_t n = t.numElements();
  if (t.dtype() == DType::F32)
    for (int64_t i = 0; i < n; ++i)
      t.data<float>()[i] /= static_cast<float>(ranks);
  else
    for (int64_t i = 0; i < n; ++i)
      t.data<double>()[i] /= ranks;
}

} // namespace

class HostGradientAverager : public GradientAverager {
public:
  /// Buckets of at least `bucketBytes` (0: one sum after the backward pass).
  HostGradientAverager(Communicator &comm, int64_t bucketBytes)
      : comm_(comm), bucketBytes_(bucketBytes) {}
  HostGradientAverager(const HostGradientAverager &) = delete;
  HostGradientAverager &operator=(const HostGradientAverager &) = delete;
  ~HostGradientAverager() override;

  /// Before the entry that computes `results` runs (their buffers must be
  /// the same at every step): listens to its reports.
  Status beforeStep(std::vector<HostTensor> &results) override;
  /// After it returned with `ran`: stops listening, then (if it succeeded)
  /// begins the sums not begun yet and waits for every sum, divided by the
  /// number of ranks. A failed `ran` is returned as it is.
  Status afterStep(Status ran) override;

  /// Seconds spent in afterStep (the communication the backward pass did
  /// not hide), and in the reports' hook (beginning and testing sums).
  double exposedSeconds() const override { return exposed_; }
  double hookSeconds() const override { return hooked_; }
  /// The buckets, once the first step has made them (0 before).
  size_t buckets() const override { return buckets_.size(); }

private:
  struct Member {
    HostTensor *tensor;
    int64_t lastReport; // the report after which it is final; -1: the end
  };
  struct Bucket {
    std::vector<Member> members;
    DType dtype = DType::F32;
    int64_t readyAt = -1; // the report that completes it; -1: the end
    std::vector<char> staging;
    Communicator::Request request = -1;
    bool begun = false;
  };

  static void onReport(void *self, const void *data, int64_t bytes);
  void report(const void *data, int64_t bytes);
  Status begin(Bucket &bucket);
  Status averageAll(); // the first step's: everything after the pass
  void makeBuckets();

  Communicator &comm_;
  int64_t bucketBytes_;
  std::vector<HostTensor *> results_; // the float results, in order
  std::vector<const void *> addresses_; // and their buffers
  std::vector<int64_t> lastReport_;   // per result, while calibrating
  std::vector<Bucket> buckets_;
  size_t nextBucket_ = 0;
  int64_t reports_ = 0, calibratedReports_ = -1;
  bool calibrating_ = false;
  Status failed_;
  double exposed_ = 0, hooked_ = 0;
};

HostGradientAverager::~HostGradientAverager() {
  setReportHook(nullptr, nullptr);
}

void HostGradientAverager::onReport(void *self, const void *data,
                                    int64_t bytes) {
  static_cast<HostGradientAverager *>(self)->report(data, bytes);
}

Status HostGradientAverager::beforeStep(std::vector<HostTensor> &results) {
  std::vector<HostTensor *> floats;
  for (HostTensor &t : results)
    if (t.dtype() == DType::F32 || t.dtype() == DType::F64)
      floats.push_back(&t);
  std::vector<const void *> addresses;
  for (HostTensor *t : floats)
    addresses.push_back(t->data());
  if (!buckets_.empty() && (floats != results_ || addresses != addresses_))
    return Status::error("data-parallel step: the gradients moved between "
                         "steps");
  results_ = std::move(floats);
  addresses_ = std::move(addresses);
  reports_ = 0;
  failed_ = Status::success();
  calibrating_ = bucketBytes_ > 0 && buckets_.empty();
  if (calibrating_)
    lastReport_.assign(results_.size(), -1);
  nextBucket_ = 0;
  for (Bucket &b : buckets_)
    b.begun = false, b.request = -1;
  if (bucketBytes_ > 0)
    setReportHook(&HostGradientAverager::onReport, this);
  return Status::success();
}

void HostGradientAverager::report(const void *data, int64_t bytes) {
  auto start = std::chrono::steady_clock::now();
  int64_t index = reports_++;
  const char *written = static_cast<const char *>(data);
  if (calibrating_) {
    // Which results this kernel wrote into: the last writer makes it final.
    for (size_t r = 0; r < results_.size(); ++r) {
      const char *at = static_cast<const char *>(results_[r]->data());
      if (written < at + results_[r]->sizeInBytes() && at < written + bytes)
        lastReport_[r] = index;
    }
  } else if (failed_.ok()) {
    // The buckets this report completes begin their sums; the earlier ones
    // are moved on.
    while (nextBucket_ < buckets_.size() &&
           buckets_[nextBucket_].readyAt == index) {
      if (Status s = begin(buckets_[nextBucket_]); !s.ok())
        failed_ = s;
      ++nextBucket_;
    }
    for (size_t b = 0; b < nextBucket_ && failed_.ok(); ++b)
      if (buckets_[b].request >= 0) {
        StatusOr<bool> done = comm_.test(buckets_[b].request);
        if (!done.ok())
          failed_ = done.status();
        else if (!done.value())
          break; // later ones wait behind it
      }
  }
  hooked_ += since(start);
}

Status HostGradientAverager::begin(Bucket &bucket) {
  size_t at = 0;
  for (const Member &m : bucket.members) {
    std::memcpy(bucket.staging.data() + at, m.tensor->data(),
                m.tensor->sizeInBytes());
    at += m.tensor->sizeInBytes();
  }
  size_t element = bucket.dtype == DType::F64 ? 8 : 4;
  StatusOr<Communicator::Request> request = comm_.startAllReduceSum(
      bucket.staging.data(), static_cast<int64_t>(at / element), bucket.dtype);
  if (!request.ok())
    return request.status();
  bucket.request = request.value();
  bucket.begun = true;
  return Status::success();
}

Status HostGradientAverager::averageAll() {
  for (DType dtype : {DType::F32, DType::F64}) {
    size_t total = 0;
    for (HostTensor *t : results_)
      if (t->dtype() == dtype)
        total += t->sizeInBytes();
    if (total == 0)
      continue;
    std::vector<char> packed(total);
    size_t at = 0;
    for (HostTensor *t : results_)
      if (t->dtype() == dtype) {
        std::memcpy(packed.data() + at, t->data(), t->sizeInBytes());
        at += t->sizeInBytes();
      }
    size_t element = dtype == DType::F64 ? 8 : 4;
    if (Status s = comm_.allReduceSum(packed.data(),
                                      static_cast<int64_t>(total / element),
                                      dtype);
        !s.ok())
      return s;
    at = 0;
    for (HostTensor *t : results_)
      if (t->dtype() == dtype) {
        std::memcpy(t->data(), packed.data() + at, t->sizeInBytes());
        at += t->sizeInBytes();
        divide(*t, comm_.size());
      }
  }
  return Status::success();
}

void HostGradientAverager::makeBuckets() {
  // The results in the order they become final (those no report wrote, at
  // the end), cut into buckets of one dtype and at least bucketBytes_.
  std::vector<size_t> order(results_.size());
  std::iota(order.begin(), order.end(), 0);
  auto finalAt = [&](size_t r) {
    return lastReport_[r] < 0 ? INT64_MAX : lastReport_[r];
  };
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return finalAt(a) < finalAt(b);
  });
  buckets_.clear();
  for (size_t r : order) {
    HostTensor *t = results_[r];
    if (buckets_.empty() || buckets_.back().dtype != t->dtype() ||
        static_cast<int64_t>(buckets_.back().staging.size()) >= bucketBytes_)
      buckets_.emplace_back().dtype = t->dtype();
    Bucket &b = buckets_.back();
    b.members.push_back({t, lastReport_[r]});
    b.staging.resize(b.staging.size() + t->sizeInBytes());
    b.readyAt = lastReport_[r] < 0 || (b.members.size() > 1 && b.readyAt < 0)
                    ? -1
                    : std::max(b.readyAt, lastReport_[r]);
  }
  calibratedReports_ = reports_;
}

Status HostGradientAverager::afterStep(Status ran) {
  setReportHook(nullptr, nullptr);
  if (!ran.ok())
    return ran;
  auto start = std::chrono::steady_clock::now();
  if (bucketBytes_ <= 0 || calibrating_) {
    Status s = averageAll();
    if (calibrating_)
      makeBuckets();
    calibrating_ = false;
    exposed_ += since(start);
    return s;
  }
  if (!failed_.ok())
    return failed_;
  // The same kernels at every step: otherwise a bucket may have been summed
  // before its last write (every rank sees the same sequence, so all stop).
  if (reports_ != calibratedReports_)
    return Status::error(
        "data-parallel step: the compiled step reported " +
        std::to_string(reports_) + " kernel outputs, the first step " +
        std::to_string(calibratedReports_) +
        "; its gradients cannot be summed while it runs (--bucket-mb=0 sums "
        "them after it)");
  for (; nextBucket_ < buckets_.size(); ++nextBucket_)
    if (Status s = begin(buckets_[nextBucket_]); !s.ok())
      return s;
  for (Bucket &b : buckets_) {
    if (Status s = comm_.wait(b.request); !s.ok())
      return s;
    size_t at = 0;
    for (const Member &m : b.members) {
      std::memcpy(m.tensor->data(), b.staging.data() + at,
                  m.tensor->sizeInBytes());
      at += m.tensor->sizeInBytes();
      divide(*m.tensor, comm_.size());
    }
  }
  exposed_ += since(start);
  return Status::success();
}

std::unique_ptr<GradientAverager> hostGradientAverager(Communicator &comm,
                                                       int64_t bucketBytes) {
  return std::make_unique<HostGradientAverager>(comm, bucketBytes);
}

} // namespace kiln::rt
