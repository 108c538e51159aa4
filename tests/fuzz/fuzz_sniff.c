/* fuzz_sniff.c: media type sniffing of uploaded files (JPEG/PNG/GIF/WebP
 * dimensions, MP4/QuickTime boxes, WebM, Ogg, MP3, ZIP-based Office, OLE2),
 * from a file descriptor as the upload handler gives it. The first byte
 * picks the client's declared type and name, which only break ties. */
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "domain/media.h"

static const char *const types[] = { "", "audio/webm", "video/webm", "application/msword",
                                     "image/png", "application/vnd.ms-excel" };
static const char *const names[] = { "", "a.webm", "v.webm", "d.doc", "x.xls", "p.ppt" };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int fd = -1;
    if (fd < 0 && (fd = memfd_create("sniff", 0)) < 0)
        abort();
    if (size < 1)
        return 0;
    if (ftruncate(fd, 0) < 0 || pwrite(fd, data + 1, size - 1, 0) != (ssize_t)(size - 1))
        abort();
    lseek(fd, 0, SEEK_SET);
    struct media_kind k;
    struct err e = { ERR_NONE, "" };
    if (media_sniff(fd, (long long)size - 1, types[data[0] % 6], names[(data[0] / 6) % 6], &k, &e) == 0) {
        if (k.ancho < 0 || k.alto < 0)
            __builtin_trap();
        media_tipo(k.mime);
    }
    return 0;
}
