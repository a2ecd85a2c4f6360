/*
 * notification's configuration is one table per part: the service's core
 * keys (notify.outcomes_topic, notify.<channel>.transport, the queue's
 * settings) and each transport's own (notify.smtp.*, declared in its file).
 * The runtime takes one table and one struct, so config.c lays them end to
 * end: notify_config first, then each transport's struct at an aligned
 * offset, with the transports' offsets moved along. When the runtime takes
 * several sections itself (ch_service gaining `.config_sections`), this
 * layout is what it would be handed.
 */
#ifndef CHARTER_NOTIFY_CONFIG_H
#define CHARTER_NOTIFY_CONFIG_H

#include <stddef.h>

#include "charter/config.h"
#include "notify.h"
#include "transport.h"

/* The service's whole table and the size of its struct. */
typedef struct {
    ch_config_entry *entries; /* owned */
    size_t nentries;
    size_t size;
} notify_config_map;

/* Lays out the core keys and every transport's; `validate_transport`
 * checks each notify.<channel>.transport value as it is read (the channel
 * itself is checked at start-up, notify_config_routes). Returns 0 or
 * CH_ENOMEM. */
int notify_config_map_build(notify_config_map *map, const notify_transport *const *table,
                            ch_config_validate_fn validate_transport);
void notify_config_map_free(notify_config_map *map);

/* Transport `slot`'s settings inside the struct the runtime filled. */
const void *notify_config_section(const void *config, const notify_transport *const *table,
                                  size_t slot);

/*
 * The transport slot of each route from notify.<channel>.transport, every
 * name checked against the table and the channel it must carry. Returns 0,
 * or CH_EINVAL with a sentence naming the key and the allowed transports.
 */
int notify_config_routes(const notify_config *cfg, const notify_transport *const *table,
                         int route[NOTIFY_NROUTES], char *errstr, size_t errstr_size);

#endif
