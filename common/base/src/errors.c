#include "charter/errors.h"

const char *
ch_strerror(int rc)
{
    switch (rc) {
    case CH_OK:
        return "ok";
    case CH_EINVAL:
        return "invalid input";
    case CH_ENOMEM:
        return "out of memory";
    case CH_EIO:
        return "input/output error";
    case CH_EAGAIN:
        return "temporary failure, try again";
    case CH_ENOTFOUND:
        return "not found";
    case CH_EEXIST:
        return "already exists";
    case CH_EBADMSG:
        return "unprocessable record";
    case CH_ESHUTDOWN:
        return "shutting down";
    }
    return "unknown error";
}
