import type { ComponentChildren } from 'preact';

/** The centred card of the signed-out pages. */
export function AuthLayout({ title, children }: { title: string; children: ComponentChildren }) {
  return (
    <main class="auth" id="main">
      <div class="auth-card">
        <div class="brand brand-large" aria-hidden="true">
          <span class="brand-mark">T</span> Tollgate
        </div>
        <h1>{title}</h1>
        {children}
      </div>
    </main>
  );
}
