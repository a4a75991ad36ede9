// Inline SVG icons (no icon font: nothing to fetch, nothing for the CSP to allow). Decorative: the button
// that holds one carries the accessible name.

const common = { width: 16, height: 16, viewBox: '0 0 24 24', fill: 'none', stroke: 'currentColor', 'stroke-width': 2 } as const;

export function TrashIcon() {
  return (
    <svg {...common} aria-hidden="true">
      <path d="M3 6h18M8 6V4h8v2M19 6l-1 14H6L5 6M10 11v6M14 11v6" stroke-linecap="round" stroke-linejoin="round" />
    </svg>
  );
}

export function PencilIcon() {
  return (
    <svg {...common} aria-hidden="true">
      <path d="M4 20h4L19 9l-4-4L4 16v4zM13.5 6.5l4 4" stroke-linecap="round" stroke-linejoin="round" />
    </svg>
  );
}

export function RotateIcon() {
  return (
    <svg {...common} aria-hidden="true">
      <path d="M20 11a8 8 0 1 0-2.3 5.7M20 4v7h-7" stroke-linecap="round" stroke-linejoin="round" />
    </svg>
  );
}
