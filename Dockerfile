# v2s with every system dependency of the data path (conversion, boot check).
# The same package list as tests/lab/install.sh, minus the lab-only Go toolchain.
FROM debian:12-slim
ENV DEBIAN_FRONTEND=noninteractive \
    LIBGUESTFS_BACKEND=direct
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      python3 python3-venv qemu-utils qemu-system-x86 ovmf \
      libguestfs-tools virt-v2v libnbd-bin nbdkit linux-image-amd64 \
      gdisk dosfstools mtools grub-efi-amd64-bin grub-pc-bin parted fdisk \
      e2fsprogs lvm2 openssl ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /opt/v2s
COPY pyproject.toml README.md ./
COPY vmware2scw ./vmware2scw
COPY providers ./providers
RUN python3 -m venv /opt/venv && /opt/venv/bin/pip install --no-cache-dir . \
 && ln -s /opt/venv/bin/v2s /usr/local/bin/v2s
WORKDIR /work
ENTRYPOINT ["v2s"]
