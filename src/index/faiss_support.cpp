#include "greedyhash/index/binary_index.h"

namespace greedyhash {

std::string faiss_unavailable_message() {
  return "greedyhash was built without FAISS, which the binary index needs: install it "
         "(Debian 12: apt-get install libfaiss-dev, or scripts/install_deps.sh) and rebuild "
         "with -DGREEDYHASH_WITH_FAISS=ON";
}

}  // namespace greedyhash
