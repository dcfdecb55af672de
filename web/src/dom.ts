/** A small element builder: the views create their DOM with it instead of concatenating HTML strings. */

type Child = Node | string | null | undefined | false;
type Attributes = Record<string, string | number | boolean | null | undefined | ((event: Event) => void)>;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Attributes = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    if (typeof value === 'function') element.addEventListener(name.replace(/^on/, ''), value);
    else if (value === true) element.setAttribute(name, '');
    else element.setAttribute(name, String(value));
  }
  append(element, children);
  return element;
}

export function append(parent: Element, children: readonly Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    parent.append(child);
  }
}

/** Replaces an element's children in one step, so a re-render never shows a half-empty list. */
export function replaceChildren(parent: Element, ...children: Child[]): void {
  const fragment = document.createDocumentFragment();
  for (const child of children)
    if (child !== null && child !== undefined && child !== false) fragment.append(child);
  parent.replaceChildren(fragment);
}

/** Calls `render` at most once per `intervalMs`, however often it is requested. */
export function throttled(render: () => void, intervalMs: number): () => void {
  let timer: number | null = null;
  let lastRunMs = 0;
  return () => {
    if (timer !== null) return;
    const waitMs = Math.max(0, lastRunMs + intervalMs - Date.now());
    timer = window.setTimeout(() => {
      timer = null;
      lastRunMs = Date.now();
      render();
    }, waitMs);
  };
}
