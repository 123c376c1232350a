// vite-plugin-svelte defaults (Svelte 5 handles <script lang="ts"> natively).
export default {};
