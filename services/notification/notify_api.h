/*
 * GOV.UK Notify's API as notification speaks it over HTTP: the JSON body of
 * POST /v2/notifications/{sms,email,social} and the JWT Notify
 * authenticates by, made from its API key. Pure: the clock is a parameter.
 */
#ifndef CHARTER_NOTIFY_API_H
#define CHARTER_NOTIFY_API_H

#include <stddef.h>
#include <stdint.h>

/*
 * The JSON body for POST /v2/notifications/{sms,email,social}, the shape of
 * GOV.UK Notify's API: phone_number (sms) or email_address (email) or
 * recipient (social), template_id, personalisation {subject, body,
 * reference}, reference (the notification id: the idempotency key), plus
 * case_id. Returns a string to free, or NULL.
 */
char *notify_http_body(const char *channel, const char *to, const char *template_id,
                       const char *reference, const char *case_ref, const char *case_id,
                       const char *subject, const char *body);

/*
 * Splits a GOV.UK Notify API key, "{key_name}-{service_id}-{secret_key}"
 * where both ids are 36-character UUIDs (the key name may itself contain
 * dashes), into service_id and secret (each buffer at least 37 bytes).
 * Returns 0, or CH_EINVAL with a sentence naming `setting` in errstr; the
 * message never quotes the key.
 */
int notify_api_key_split(const char *api_key, const char *setting, char *service_id, char *secret,
                         char *errstr, size_t errstr_size);

/*
 * The JWT GOV.UK Notify takes as "Authorization: Bearer <jwt>": header
 * {"alg":"HS256","typ":"JWT"}, claims {"iss":service_id,"iat":iat}, each
 * base64url without padding, signed HMAC-SHA256 with `secret`. Returns a
 * string to free, or NULL on ENOMEM.
 */
char *notify_jwt(const char *service_id, const char *secret, int64_t iat);

#endif
