# make portability (issue 17): the unit suites built for and RUN on 32-bit x86 (gcc -m32),
# big-endian s390x (cross gcc + qemu-user), Windows (mingw-w64 + wine) and musl libc; the
# header compiled for bare-metal ARM (arm-none-eabi-gcc). scripts/portability.sh installs
# the cross tools from Debian (scripts/need.sh: each package and why; NO_INSTALL=1 says the
# command instead). PORT_TARGETS="i386 s390x windows arm musl" picks targets.
# docs/portability.md has the targets, their times and the macOS/BSD review.
.PHONY: portability

portability:
	@BUILD=$(BUILD) bash scripts/portability.sh

ci-extra: portability
