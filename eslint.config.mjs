import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["dist/**", "node_modules/**", ".node22/**", ".node-red/**", "coverage/**", "nodes/**/*.html"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ["**/*.ts"],
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_" }],
      "no-console": "off",
    },
  },
  {
    files: ["src/**/*.ts"],
    rules: {
      // The core stays free of Node-RED: adapters in nodes/ translate.
      "no-restricted-imports": ["error", { patterns: ["node-red", "@node-red/*", "*/nodes/*"] }],
    },
  },
  {
    // Editor code Node-RED serves from resources/ to the browser: plain scripts with jQuery and RED.
    files: ["resources/**/*.js"],
    languageOptions: {
      sourceType: "script",
      globals: {
        RED: "readonly",
        $: "readonly",
        window: "readonly",
        document: "readonly",
        location: "readonly",
        localStorage: "readonly",
        setTimeout: "readonly",
        clearTimeout: "readonly",
      },
    },
    rules: { "@typescript-eslint/no-unused-vars": ["error", { caughtErrors: "none" }] },
  },
  {
    files: ["scripts/**/*.js", "test/**/*.js", "eslint.config.mjs"],
    languageOptions: {
      globals: {
        require: "readonly",
        module: "writable",
        process: "readonly",
        __dirname: "readonly",
        console: "readonly",
      },
    },
    rules: { "@typescript-eslint/no-require-imports": "off" },
  },
);
