/*
 * Hexadecimal digits read from outside text (signature headers):
 * one definition, so every reader accepts the same digits.
 */
#ifndef CHARTER_HEX_H
#define CHARTER_HEX_H

/* The value of the hex digit c (0-9, a-f, A-F), or -1 when c is not one. */
int ch_hex_digit(char c);

#endif
