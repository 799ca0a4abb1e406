#include "greedyhash/report/line_plot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "greedyhash/error.h"
#include "greedyhash/serialize/atomic_file.h"

namespace greedyhash {

namespace {

constexpr int kWidth = 900, kHeight = 650;
constexpr int kLeft = 90, kRight = 30, kTop = 60, kBottom = 80;
const cv::Scalar kBlack(0, 0, 0), kGrey(215, 215, 215), kWhite(255, 255, 255);
constexpr int kFont = cv::FONT_HERSHEY_SIMPLEX;

// Distinct colours (BGR) for up to eight series, then repeated.
cv::Scalar series_colour(size_t i) {
  static const cv::Scalar colours[] = {{180, 119, 31},  {14, 127, 255},  {44, 160, 44},
                                       {40, 39, 214},   {189, 103, 148}, {75, 86, 140},
                                       {194, 119, 227}, {127, 127, 127}};
  return colours[i % 8];
}

std::string tick_text(double v, bool log_scale) {
  char text[32];
  if (log_scale) {
    std::snprintf(text, sizeof text, "%.0f", v);
  } else {
    std::snprintf(text, sizeof text, std::fabs(v) >= 10 ? "%.0f" : "%.2g", v);
  }
  return text;
}

void centred_text(cv::Mat& img, const std::string& text, cv::Point centre, double scale,
                  int thickness = 1) {
  int baseline = 0;
  const auto size = cv::getTextSize(text, kFont, scale, thickness, &baseline);
  cv::putText(img, text, {centre.x - size.width / 2, centre.y + size.height / 2}, kFont, scale,
              kBlack, thickness, cv::LINE_AA);
}

}  // namespace

void save_line_plot(const std::filesystem::path& path, const LinePlot& plot) {
  double x_min = INFINITY, x_max = -INFINITY, y_min = 0, y_max = 1;
  for (const auto& s : plot.series) {
    if (s.x.size() != s.y.size())
      throw Error("plot series '" + s.name + "' has x/y of unequal size");
    for (size_t i = 0; i < s.x.size(); ++i) {
      if (!std::isfinite(s.x[i]) || !std::isfinite(s.y[i])) continue;
      if (plot.log_x && s.x[i] <= 0) continue;
      x_min = std::min(x_min, s.x[i]);
      x_max = std::max(x_max, s.x[i]);
      y_min = std::min(y_min, s.y[i]);
      y_max = std::max(y_max, s.y[i]);
    }
  }
  if (!std::isfinite(x_min)) x_min = 0, x_max = 1;
  if (x_max <= x_min) x_max = x_min + 1;
  const auto tx = [&](double x) { return plot.log_x ? std::log10(x) : x; };
  const double ax0 = tx(x_min), ax1 = tx(x_max);

  cv::Mat img(kHeight, kWidth, CV_8UC3, kWhite);
  const int pw = kWidth - kLeft - kRight, ph = kHeight - kTop - kBottom;
  const auto px = [&](double x) {
    return kLeft + static_cast<int>(std::lround((tx(x) - ax0) / (ax1 - ax0) * pw));
  };
  const auto py = [&](double y) {
    return kTop + ph - static_cast<int>(std::lround((y - y_min) / (y_max - y_min) * ph));
  };

  // Grid and ticks: 5 intervals on y; on x 5 intervals, or one per decade when log.
  for (int i = 0; i <= 5; ++i) {
    const double y = y_min + (y_max - y_min) * i / 5.0;
    cv::line(img, {kLeft, py(y)}, {kLeft + pw, py(y)}, kGrey, 1);
    centred_text(img, tick_text(y, false), {kLeft - 35, py(y)}, 0.5);
  }
  std::vector<double> x_ticks;
  if (plot.log_x) {
    for (double d = std::ceil(ax0); d <= ax1 + 1e-9; d += 1) x_ticks.push_back(std::pow(10.0, d));
  } else {
    for (int i = 0; i <= 5; ++i) x_ticks.push_back(x_min + (x_max - x_min) * i / 5.0);
  }
  for (double x : x_ticks) {
    cv::line(img, {px(x), kTop}, {px(x), kTop + ph}, kGrey, 1);
    centred_text(img, tick_text(x, plot.log_x), {px(x), kTop + ph + 18}, 0.5);
  }
  cv::rectangle(img, {kLeft, kTop}, {kLeft + pw, kTop + ph}, kBlack, 1);

  for (size_t s = 0; s < plot.series.size(); ++s) {
    const auto& series = plot.series[s];
    std::vector<cv::Point> points;
    for (size_t i = 0; i < series.x.size(); ++i) {
      if (!std::isfinite(series.x[i]) || !std::isfinite(series.y[i])) continue;
      if (plot.log_x && series.x[i] <= 0) continue;
      points.emplace_back(px(series.x[i]), py(series.y[i]));
    }
    const auto colour = series_colour(s);
    if (points.size() > 1) cv::polylines(img, points, false, colour, 2, cv::LINE_AA);
    for (const auto& p : points) cv::circle(img, p, 3, colour, cv::FILLED, cv::LINE_AA);
  }

  centred_text(img, plot.title, {kWidth / 2, 28}, 0.75, 2);
  centred_text(img, plot.x_label, {kLeft + pw / 2, kHeight - 30}, 0.6);
  // The y label, written horizontally on its own canvas and turned a quarter left.
  {
    int baseline = 0;
    const auto size = cv::getTextSize(plot.y_label, kFont, 0.6, 1, &baseline);
    cv::Mat label(size.height + baseline + 6, size.width + 6, CV_8UC3, kWhite);
    cv::putText(label, plot.y_label, {3, size.height + 3}, kFont, 0.6, kBlack, 1, cv::LINE_AA);
    cv::Mat turned;
    cv::rotate(label, turned, cv::ROTATE_90_COUNTERCLOCKWISE);
    const int x = 8, y = std::max(0, kTop + ph / 2 - turned.rows / 2);
    if (y + turned.rows <= kHeight) turned.copyTo(img(cv::Rect(x, y, turned.cols, turned.rows)));
  }

  // Legend in the top right corner of the plot area.
  int legend_width = 0;
  for (const auto& s : plot.series) {
    int baseline = 0;
    legend_width = std::max(legend_width, cv::getTextSize(s.name, kFont, 0.55, 1, &baseline).width);
  }
  if (!plot.series.empty()) {
    const int lx = kLeft + pw - legend_width - 60, ly = kTop + 10;
    const int lh = static_cast<int>(plot.series.size()) * 24 + 8;
    cv::rectangle(img, {lx, ly}, {kLeft + pw - 10, ly + lh}, kWhite, cv::FILLED);
    cv::rectangle(img, {lx, ly}, {kLeft + pw - 10, ly + lh}, kBlack, 1);
    for (size_t s = 0; s < plot.series.size(); ++s) {
      const int y = ly + 18 + static_cast<int>(s) * 24;
      cv::line(img, {lx + 8, y - 5}, {lx + 38, y - 5}, series_colour(s), 2, cv::LINE_AA);
      cv::putText(img, plot.series[s].name, {lx + 45, y}, kFont, 0.55, kBlack, 1, cv::LINE_AA);
    }
  }

  std::vector<uchar> png;
  if (!cv::imencode(".png", img, png)) throw Error("cannot encode plot " + path.string());
  write_file_atomically(path,
                        std::string_view(reinterpret_cast<const char*>(png.data()), png.size()));
}

}  // namespace greedyhash
