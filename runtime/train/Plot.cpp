//===- Plot.cpp - A training run's curves and summary ---------------------===//

#include "train/Plot.h"


#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace kiln::rt {
namespace {

/// "%.4g" of `v`.
std::string number(double v) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.4g", v);
  return text;
}

/// Tick values covering [lo, hi]: 1, 2 or 5 times a power of ten apart.
std::vector<double> ticks(double &lo, double &hi) {
  if (!(hi > lo)) {
    double pad = lo == 0 ? 1 : std::fabs(lo) * 0.1;
    lo -= pad, hi += pad;
  }
  double raw = (hi - lo) / 5, power = std::pow(10, std::floor(std::log10(raw)));
  double step = raw / power < 1.5 ? power : raw / power < 3.5 ? 2 * power
                                                              : 5 * power;
  lo = std::floor(lo / step) * step;
  hi = std::ceil(hi / step) * step;
  std::vector<double> out;
  for (double v = lo; v <= hi + step / 2; v += step)
    out.push_back(std::fabs(v) < step * 1e-9 ? 0 : v);
  return out;
}

struct Series {
  std::string name, color;
  std::vector<std::pair<double, double>> points;
};

/// One panel at (x0, y0), w x h: axes, ticks, the series and a legend.
void panel(std::ostringstream &svg, double x0, double y0, double w, double h,
           const std::string &label, const std::vector<Series> &series,
           int64_t firstEpoch, int64_t lastEpoch) {
  double lo = INFINITY, hi = -INFINITY;
  for (const Series &s : series)
    for (auto [x, y] : s.points)
      lo = std::min(lo, y), hi = std::max(hi, y);
  std::vector<double> yTicks = ticks(lo, hi);
  double left = x0 + 56, right = x0 + w - 12, top = y0 + 28,
         bottom = y0 + h - 36;
  double span = std::max<int64_t>(1, lastEpoch - firstEpoch);
  auto px = [&](double epoch) {
    return lastEpoch == firstEpoch ? (left + right) / 2
                                   : left + (epoch - firstEpoch) / span *
                                                (right - left);
  };
  auto py = [&](double v) { return bottom - (v - lo) / (hi - lo) * (bottom - top); };
  svg << "<text x=\"" << (left + right) / 2 << "\" y=\"" << y0 + 16
      << "\" text-anchor=\"middle\" font-weight=\"bold\">" << label
      << "</text>\n";
  svg << "<rect x=\"" << left << "\" y=\"" << top << "\" width=\""
      << right - left << "\" height=\"" << bottom - top
      << "\" fill=\"none\" stroke=\"#888\"/>\n";
  for (double t : yTicks) {
    svg << "<line x1=\"" << left << "\" x2=\"" << right << "\" y1=\"" << py(t)
        << "\" y2=\"" << py(t) << "\" stroke=\"#ddd\"/>\n";
    svg << "<text x=\"" << left - 6 << "\" y=\"" << py(t) + 4
        << "\" text-anchor=\"end\" font-size=\"11\">" << number(t)
        << "</text>\n";
  }
  int64_t every = std::max<int64_t>(1, (lastEpoch - firstEpoch + 9) / 10);
  for (int64_t e = firstEpoch; e <= lastEpoch; e += every)
    svg << "<text x=\"" << px(e) << "\" y=\"" << bottom + 16
        << "\" text-anchor=\"middle\" font-size=\"11\">" << e << "</text>\n";
  svg << "<text x=\"" << (left + right) / 2 << "\" y=\"" << bottom + 32
      << "\" text-anchor=\"middle\" font-size=\"12\">epoch</text>\n";
  double legendY = top + 16;
  for (const Series &s : series) {
    if (s.points.empty())
      continue;
    svg << "<polyline fill=\"none\" stroke-width=\"2\" stroke=\"" << s.color
        << "\" points=\"";
    for (auto [x, y] : s.points)
      svg << px(x) << "," << py(y) << " ";
    svg << "\"/>\n";
    for (auto [x, y] : s.points)
      svg << "<circle r=\"3\" fill=\"" << s.color << "\" cx=\"" << px(x)
          << "\" cy=\"" << py(y) << "\"/>\n";
    svg << "<text x=\"" << right - 8 << "\" y=\"" << legendY
        << "\" text-anchor=\"end\" font-size=\"12\" fill=\"" << s.color
        << "\">" << s.name << "</text>\n";
    legendY += 16;
  }
}

std::string escape(const std::string &text) {
  std::string out;
  for (char c : text)
    out += c == '<' ? "&lt;" : c == '>' ? "&gt;" : c == '&' ? "&amp;"
                                                            : std::string(1, c);
  return out;
}

} // namespace

StatusOr<std::vector<EpochRecord>> readMetrics(const std::string &path) {
  std::ifstream in(path);
  if (!in)
    return Status::error("cannot read metrics '" + path + "'");
  std::vector<EpochRecord> records;
  std::string line;
  for (int64_t number = 1; std::getline(in, line); ++number) {
    if (number == 1 && line.rfind("epoch,", 0) == 0)
      continue;
    if (line.empty())
      continue;
    EpochRecord r;
    long long epoch = 0, steps = 0;
    char accuracy[64] = {0};
    if (std::sscanf(line.c_str(), "%lld,%lld,%lf,%lf,%63[^,],%lf", &epoch,
                    &steps, &r.trainLoss, &r.testLoss, accuracy,
                    &r.seconds) != 6)
      return Status::error("'" + path + "', line " + std::to_string(number) +
                           ": not a row of epoch,steps,train_loss,test_loss,"
                           "test_accuracy,seconds");
    r.epoch = epoch, r.steps = steps;
    r.accuracy = std::strtod(accuracy, nullptr); // "nan" for no labels
    records.push_back(r);
  }
  return records;
}

std::string plotSvg(const std::vector<EpochRecord> &records,
                    const std::string &title) {
  Series train{"train loss", "#1f77b4", {}}, test{"test loss", "#d62728", {}},
      accuracy{"test accuracy (%)", "#2ca02c", {}};
  for (const EpochRecord &r : records) {
    train.points.push_back({double(r.epoch), r.trainLoss});
    test.points.push_back({double(r.epoch), r.testLoss});
    if (std::isfinite(r.accuracy))
      accuracy.points.push_back({double(r.epoch), 100 * r.accuracy});
  }
  bool withAccuracy = !accuracy.points.empty();
  int64_t first = records.empty() ? 1 : records.front().epoch;
  int64_t last = records.empty() ? 1 : records.back().epoch;
  double width = withAccuracy ? 900 : 460, height = 340;
  std::ostringstream svg;
  svg << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << width
      << "\" height=\"" << height
      << "\" font-family=\"sans-serif\" font-size=\"13\">\n"
      << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
      << "<text x=\"12\" y=\"18\" font-size=\"14\">" << escape(title)
      << "</text>\n";
  panel(svg, 0, 24, 450, height - 24, "loss", {train, test}, first, last);
  if (withAccuracy)
    panel(svg, 450, 24, 450, height - 24, "test accuracy (%)", {accuracy},
          first, last);
  svg << "</svg>\n";
  return svg.str();
}

std::string summarize(const std::vector<EpochRecord> &records,
                      double examplesPerSecond,
                      const std::string &accuracyName) {
  if (records.empty())
    return "";
  const EpochRecord &last = records.back();
  const EpochRecord *best = &records.front();
  for (const EpochRecord &r : records)
    if (std::isfinite(r.accuracy) ? r.accuracy > best->accuracy
                                  : r.testLoss < best->testLoss)
      best = &r;
  char text[512];
  int64_t s = static_cast<int64_t>(last.seconds + 0.5);
  int n = std::snprintf(
      text, sizeof(text),
      "summary: %lld epoch%s, %lld steps in %lld:%02lld (%.0f examples/s)\n",
      (long long)last.epoch, last.epoch == 1 ? "" : "s",
      (long long)last.steps, (long long)(s / 60), (long long)(s % 60),
      examplesPerSecond);
  if (std::isfinite(best->accuracy))
    n += std::snprintf(text + n, sizeof(text) - n,
                       "  best %s %.2f%% at epoch %lld; last epoch %.2f%%, "
                       "test loss %.4f\n",
                       accuracyName.c_str(), 100 * best->accuracy,
                       (long long)best->epoch, 100 * last.accuracy,
                       last.testLoss);
  else
    std::snprintf(text + n, sizeof(text) - n,
                  "  best test loss %.4f at epoch %lld; last epoch %.4f\n",
                  best->testLoss, (long long)best->epoch, last.testLoss);
  return text;
}

} // namespace kiln::rt
