/** Causes followed at most: a chain deeper than this is a loop or noise. */
const MAX_CAUSE_DEPTH = 6;

/**
 * An error's message with what caused it, for a person at a terminal: client libraries wrap the reason (a
 * refused SASL login, a TLS certificate problem) several layers down, under "Cannot connect to any broker".
 */
export function errorText(error: unknown): string {
  const messages: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current !== undefined && current !== null && depth < MAX_CAUSE_DEPTH; depth++) {
    if (!(current instanceof Error)) {
      messages.push(String(current));
      break;
    }
    const text = current.message.trim().replace(/\.$/, '');
    if (text !== '' && !messages.includes(text)) messages.push(text);
    // A broker's own words on a refused request (Kafka's errorMessage), which @platformatic/kafka keeps apart.
    const server: unknown = (current as { serverErrorMessage?: unknown }).serverErrorMessage;
    if (typeof server === 'string' && server !== '' && !messages.includes(server)) messages.push(server);
    const nested: unknown = (current as { errors?: unknown[] }).errors?.[0];
    current = current.cause ?? nested;
  }
  return messages.join(': ');
}
