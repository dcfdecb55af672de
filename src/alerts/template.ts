/**
 * Annotation templates in the Prometheus style ("Retransmits on {{ $labels.edge }} at {{ $value }}"), by
 * substitution only: a template is parsed once into literal text and references, nothing is ever evaluated.
 */

export interface TemplateContext {
  labels: Readonly<Record<string, string>>;
  value: number | null;
  threshold: number | null;
}

type TemplatePart =
  | { kind: 'text'; text: string }
  | { kind: 'label'; name: string }
  | { kind: 'value' }
  | { kind: 'threshold' };

export interface CompiledTemplate {
  readonly source: string;
  render(context: TemplateContext): string;
}

export const MAX_TEMPLATE_CHARS = 4096;

const REFERENCE = /^\$labels\.([A-Za-z_][A-Za-z0-9_]*)$|^\$value$|^\$threshold$/;

/** Parses a template; throws an Error naming the offending reference when it is not one we support. */
export function compileTemplate(source: string): CompiledTemplate {
  if (source.length > MAX_TEMPLATE_CHARS)
    throw new Error(`template is ${source.length} characters; at most ${MAX_TEMPLATE_CHARS} are allowed`);
  const parts: TemplatePart[] = [];
  let position = 0;
  while (position < source.length) {
    const open = source.indexOf('{{', position);
    if (open === -1) {
      parts.push({ kind: 'text', text: source.slice(position) });
      break;
    }
    if (open > position) parts.push({ kind: 'text', text: source.slice(position, open) });
    const close = source.indexOf('}}', open + 2);
    if (close === -1) throw new Error(`unclosed '{{' at character ${open}`);
    parts.push(parseReference(source.slice(open + 2, close).trim()));
    position = close + 2;
  }
  return { source, render: (context) => renderParts(parts, context) };
}

function parseReference(reference: string): TemplatePart {
  const match = REFERENCE.exec(reference);
  if (!match)
    throw new Error(
      `unsupported reference '{{ ${reference} }}': expected $value, $threshold or $labels.NAME`,
    );
  if (match[1] !== undefined) return { kind: 'label', name: match[1] };
  return reference === '$value' ? { kind: 'value' } : { kind: 'threshold' };
}

function renderParts(parts: readonly TemplatePart[], context: TemplateContext): string {
  let out = '';
  for (const part of parts) {
    if (part.kind === 'text') out += part.text;
    else if (part.kind === 'label') out += context.labels[part.name] ?? '';
    else if (part.kind === 'value') out += formatValue(context.value);
    else out += formatValue(context.threshold);
  }
  return out;
}

/** Integers as they are, fractions to at most 3 decimals: what an operator wants to read in a page. */
export function formatValue(value: number | null): string {
  if (value === null) return 'no data';
  if (Number.isInteger(value) || !Number.isFinite(value)) return String(value);
  return String(Number(value.toFixed(3)));
}
