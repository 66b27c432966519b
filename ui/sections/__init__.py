"""Big page sections, one module each (`render_xxx(lm, ...)`), so pages stay short."""
