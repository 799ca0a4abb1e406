// read_image_header against headers built byte by byte from the PNG and JPEG
// specifications, and against files OpenCV encodes.
#include <gtest/gtest.h>

#include <opencv2/imgcodecs.hpp>
#include <string>
#include <vector>

#include "greedyhash/error.h"
#include "greedyhash/serve/image_header.h"

namespace greedyhash {
namespace {

std::string be32(uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
          static_cast<char>(v)};
}

std::string be16(uint32_t v) {
  return {static_cast<char>(v >> 8), static_cast<char>(v)};
}

// Signature and IHDR (CRC left zero: the header reader does not check it, the decoder
// does later).
std::string png_head(uint32_t width, uint32_t height) {
  return std::string("\x89PNG\r\n\x1a\n", 8) + be32(13) + "IHDR" + be32(width) + be32(height) +
         std::string("\x08\x02\x00\x00\x00", 5) + be32(0);
}

// SOI, an APP0 segment to skip, fill bytes, then a baseline SOF0 (precision 8, height,
// width, 3 components).
std::string jpeg_head(uint32_t width, uint32_t height, uint8_t sof = 0xC0) {
  std::string app0 = std::string("\xFF\xE0", 2) + be16(16) + std::string("JFIF\0\x01\x01\0", 8) +
                     std::string(6, '\0');
  std::string frame = std::string("\xFF", 1) + static_cast<char>(sof) + be16(17) + '\x08' +
                      be16(height) + be16(width) + '\x03' + std::string(9, '\x01');
  return std::string("\xFF\xD8", 2) + app0 + std::string("\xFF\xFF", 2).substr(0, 1) + frame;
}

TEST(ImageHeader, PngDeclaredSize) {
  const ImageHeader header = read_image_header(png_head(50000, 40000));
  EXPECT_EQ(header.format, "png");
  EXPECT_EQ(header.width, 50000);
  EXPECT_EQ(header.height, 40000);
}

TEST(ImageHeader, JpegDeclaredSizeAfterSkippedSegmentsAndFill) {
  const ImageHeader header = read_image_header(jpeg_head(50000, 30000));
  EXPECT_EQ(header.format, "jpeg");
  EXPECT_EQ(header.width, 50000);
  EXPECT_EQ(header.height, 30000);
  // Progressive (SOF2) frames too; DHT (C4) is a table, not a frame.
  EXPECT_EQ(read_image_header(jpeg_head(640, 480, 0xC2)).width, 640);
  EXPECT_THROW(read_image_header(jpeg_head(640, 480, 0xC4)), Error);
}

TEST(ImageHeader, FilesEncodedByOpenCv) {
  const cv::Mat image(37, 53, CV_8UC3, cv::Scalar(10, 20, 30));
  for (const char* extension : {".png", ".jpg"}) {
    std::vector<uchar> bytes;
    ASSERT_TRUE(cv::imencode(extension, image, bytes));
    const ImageHeader header = read_image_header(std::string(bytes.begin(), bytes.end()));
    EXPECT_EQ(header.width, 53) << extension;
    EXPECT_EQ(header.height, 37) << extension;
  }
}

TEST(ImageHeader, RefusesWhatIsNotAnImageOrIsCutShort) {
  const std::string png = png_head(10, 10);
  const std::string jpeg = jpeg_head(10, 10);
  for (const std::string& bytes :
       {std::string(), std::string("hello"), std::string("GIF89a...."), png.substr(0, 20),
        jpeg.substr(0, 10), jpeg.substr(0, jpeg.size() - 12), std::string("\xFF\xD8\xFF\xD9", 4),
        std::string("\xFF\xD8\xFF\xE0\x00\x01", 6)}) {
    try {
      read_image_header(bytes);
      ADD_FAILURE() << "accepted " << bytes.size() << " bytes";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("not a JPEG or PNG"), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace greedyhash
